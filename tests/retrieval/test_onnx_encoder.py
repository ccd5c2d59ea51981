"""The ONNX serving encoder against the sentence-transformers reference, and backend selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from retrieval.encoder import E5Encoder, Encoder, encoder_from_settings
from retrieval.errors import EncoderError, ModelNotFoundError
from retrieval.models import bootstrap, load_verification_sentences
from retrieval.onnx_encoder import OnnxE5Encoder
from retrieval.onnx_export import MIN_MEAN_COSINE, onnx_dir_for, verify_onnx
from schema.settings import Settings, load_settings


@pytest.fixture(scope="module")
def onnx_encoder(model_dir: Path) -> OnnxE5Encoder:
    enc = OnnxE5Encoder(str(model_dir), onnx_dir_for(model_dir), precision="int8", cache_size=64)
    enc.warm_up()
    return enc


def test_bootstrap_exports_and_verifies_onnx(bootstrap_summary) -> None:
    onnx = bootstrap_summary.onnx
    assert onnx is not None and Path(onnx["path"]).is_dir()
    by_precision = {v["precision"]: v for v in onnx["verification"]}
    assert set(by_precision) == {"int8", "fp32"}
    assert all(v["passed"] and v["mean_cosine"] >= MIN_MEAN_COSINE for v in by_precision.values())
    assert by_precision["fp32"]["min_cosine"] > 0.9999


def test_second_bootstrap_is_a_no_op(encoder_settings: Settings, bootstrap_summary) -> None:
    again = bootstrap(encoder_settings)
    assert again.onnx is not None and again.onnx["status"] == "up-to-date"
    assert again.onnx["path"] == bootstrap_summary.onnx["path"]


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_onnx_matches_the_reference(encoder: E5Encoder, model_dir: Path, precision: str) -> None:
    enc = OnnxE5Encoder(str(model_dir), onnx_dir_for(model_dir), precision=precision, cache_size=0)
    texts = [*load_verification_sentences(), "榨汁机的刀头可以单独购买吗", "买给老人用的手机，字体要大一点", "a", "🙂"]
    q = np.sum(enc.encode_queries(texts) * encoder.encode_queries(texts), axis=1)
    p = np.sum(enc.encode_passages(texts) * encoder.encode_passages(texts), axis=1)
    both = np.concatenate([q, p])
    floor = 0.9999 if precision == "fp32" else 0.99
    assert both.mean() >= floor, f"{precision}: mean cosine {both.mean():.4f}"
    assert both.min() >= floor - 0.01, f"{precision}: min cosine {both.min():.4f}"


def test_verification_fails_below_the_threshold(model_dir: Path) -> None:
    results = verify_onnx(model_dir, onnx_dir_for(model_dir), threshold=1.01)
    assert results and not any(r.passed for r in results)
    assert all(r.mean_cosine < 1.01 for r in results)


def test_onnx_encoder_satisfies_protocol(onnx_encoder: OnnxE5Encoder) -> None:
    assert isinstance(onnx_encoder, Encoder)
    assert onnx_encoder.dim == 384
    vectors = onnx_encoder.encode_passages(["满300减50的活动什么时候结束", "a", "🙂"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert onnx_encoder.encode_queries([]).shape == (0, 384)


def test_batch_and_single_encodings_agree(onnx_encoder: OnnxE5Encoder) -> None:
    texts = ["短", "这是一句比较长的句子，用来检查批量编码时的填充不会影响结果。"] * 20  # > batch_size
    batch = onnx_encoder.encode_passages(texts)
    singles = np.stack([onnx_encoder.encode_passages([t])[0] for t in texts[:2]] * 20)
    # int8 quantises activations per call, so a padded batch moves a text slightly (fp32: identical).
    assert np.min(np.sum(batch * singles, axis=1)) > 0.99


def test_prompts_differ_and_cache_counts(onnx_encoder: OnnxE5Encoder) -> None:
    onnx_encoder.cache_clear()
    q = onnx_encoder.encode_queries(["支持七天无理由退货吗"])[0]
    p = onnx_encoder.encode_passages(["支持七天无理由退货吗"])[0]
    assert 0.8 < float(q @ p) < 0.9999
    onnx_encoder.encode_queries(["支持七天无理由退货吗", "积分可以抵扣现金吗"])
    info = onnx_encoder.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 2, 2)


def test_backend_selection(encoder_settings: Settings, model_dir: Path) -> None:
    onnx = encoder_from_settings(encoder_settings.model_copy(update={"encoder_backend": "onnx"}))
    torch_ = encoder_from_settings(encoder_settings.model_copy(update={"encoder_backend": "torch"}))
    assert isinstance(onnx, OnnxE5Encoder) and isinstance(torch_, E5Encoder)
    assert not onnx.loaded and not torch_.loaded, "selection must not load a model"
    assert onnx.model_name_or_path == torch_.model_name_or_path == str(model_dir)
    assert onnx.num_threads == encoder_settings.encoder_threads
    assert load_settings().encoder_backend == "onnx", "serving defaults to ONNX Runtime"
    with pytest.raises(EncoderError, match="unknown encoder backend"):
        encoder_from_settings(encoder_settings, backend="tensorflow")
    with pytest.raises(ValidationError):
        load_settings(encoder_backend="tensorflow")


def test_missing_export_names_the_fix(model_dir: Path, tmp_path: Path) -> None:
    enc = OnnxE5Encoder(str(model_dir), tmp_path / "nothing-here")
    with pytest.raises(ModelNotFoundError, match="retrieval.models bootstrap"):
        enc.warm_up()
