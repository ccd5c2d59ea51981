"""Index freshness by content: a knowledge-version change alone (a stock load) never makes the
index stale; changed FAQ texts do, until a rebuild (here by the keeper itself) is loaded.

Index mechanics only, so the deterministic ``HashingEncoder`` is used (no answer quality here).
"""

from __future__ import annotations

from dataclasses import replace

from retrieval.encoder import HashingEncoder
from retrieval.index_build import StaticIndexSource, build_index
from retrieval.index_sync import IndexKeeper
from retrieval.vector_index import VectorIndex
from schema.types import ClauseInfo, FAQInfo

FAQS = (FAQInfo("F1", "多久发货", "48小时内"), FAQInfo("F2", "包邮吗", "满49包邮"))
CLAUSES = (ClauseInfo("POL-1#1", "POL-1", "发货", "付款后48小时内发货", 1),)


def test_version_bump_alone_keeps_the_index_fresh_and_a_text_change_is_rebuilt(tmp_path):
    encoder = HashingEncoder(dim=32)
    source = StaticIndexSource(FAQS, CLAUSES, version=1)
    build_index(source, encoder, tmp_path)
    served = {"faqs": FAQS}
    index = VectorIndex(tmp_path)
    builds = []

    def rebuild():
        builds.append(build_index(replace(source, faqs=served["faqs"], version=3), encoder, tmp_path))

    keeper = IndexKeeper(index, lambda: (served["faqs"], CLAUSES), rebuild=rebuild, grace_s=60)
    assert keeper.freshness().state == "fresh"
    # Another knowledge version with the same texts (a stock load): nothing to build, still fresh.
    report = build_index(replace(source, version=2), encoder, tmp_path)
    assert report.skipped and keeper.freshness().state == "fresh" and builds == []
    # An FAQ answer changed: degraded (still serving) and a rebuild starts in the background.
    served["faqs"] = (FAQS[0], FAQInfo("F2", "包邮吗", "满59包邮"))
    first = keeper.freshness()
    assert first.state == "degraded" and "waiting for the FAQ index rebuild" in first.detail
    keeper.wait_idle(30)
    assert len(builds) == 1 and not builds[0].skipped
    assert keeper.freshness().state == "fresh"
    assert any("满59包邮" in it.text for it in index.snapshot().items)


def test_stale_after_the_grace_period_without_a_builder(tmp_path):
    encoder = HashingEncoder(dim=32)
    build_index(StaticIndexSource(FAQS, CLAUSES, version=1), encoder, tmp_path)
    keeper = IndexKeeper(VectorIndex(tmp_path), lambda: (FAQS[:1], CLAUSES), rebuild=None, grace_s=0)
    fresh = keeper.freshness()
    assert fresh.state == "stale" and "1 FAQ/policy text row(s)" not in fresh.detail
    assert "differ from index" in fresh.detail
    # Another process builds the index for these texts: the keeper picks it up by itself.
    build_index(StaticIndexSource(FAQS[:1], CLAUSES, version=2), encoder, tmp_path)
    assert keeper.freshness().state == "fresh"
