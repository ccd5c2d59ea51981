"""Index mechanics: versioned writes, atomic switch, refresh, incremental rebuild, GC.

These tests use ``HashingEncoder`` (deterministic, meaning-free) because they
check bookkeeping, not answer quality; quality tests live in
``test_faq_search.py`` and use the real e5 model.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval.encoder import HashingEncoder
from retrieval.index_build import (
    IndexSource,
    StaticIndexSource,
    build_index,
    collect_items,
    list_versions,
    load_file_source,
)
from retrieval.vector_index import (
    CURRENT_NAME,
    INDEX_FILE,
    ITEMS_FILE,
    MANIFEST_FILE,
    IndexNotReadyError,
    VectorIndex,
    read_current,
    switch_current,
)
from schema.settings import PROJECT_ROOT
from schema.types import ClauseInfo, FAQInfo

DEMO_DIR = PROJECT_ROOT / "data" / "demo"


def load_demo_source() -> StaticIndexSource:
    """The demo FAQ and policy files (a real data source, not a graph fake), version 1."""
    return replace(load_file_source(DEMO_DIR, with_product_faq=False), version=1)


class CountingEncoder(HashingEncoder):
    """HashingEncoder that records which passages it was asked to embed."""

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.passages: list[str] = []

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages.extend(texts)
        return super().encode_passages(texts)


@pytest.fixture()
def source() -> StaticIndexSource:
    return load_demo_source()


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def test_demo_source_fits_protocol(source: StaticIndexSource) -> None:
    assert isinstance(source, IndexSource)
    assert len(source.faqs) >= 20 and len(source.clauses) >= 10


def test_build_writes_complete_version(source: StaticIndexSource, index_dir: Path) -> None:
    enc = CountingEncoder()
    report = build_index(source, enc, index_dir)
    vdir = index_dir / f"v{report.version}"
    assert read_current(index_dir) == report.version
    for name in (INDEX_FILE, ITEMS_FILE, MANIFEST_FILE):
        assert (vdir / name).is_file()
    manifest = json.loads((vdir / MANIFEST_FILE).read_text(encoding="utf-8"))
    items = [json.loads(line) for line in (vdir / ITEMS_FILE).read_text(encoding="utf-8").splitlines()]
    expected_texts = sum(2 + len(f.paraphrases) for f in source.faqs)  # + one Q+A row each
    assert manifest["counts"]["faqs"] == len(source.faqs)
    assert manifest["counts"]["clauses"] == len(source.clauses)
    assert manifest["counts"]["faq_texts"] <= expected_texts  # duplicates dropped
    assert manifest["counts"]["total"] == len(items) == report.total == report.embedded
    assert manifest["graph_version"] == 1 and manifest["dim"] == 64
    assert manifest["encoder"].startswith("CountingEncoder:dim=64")
    assert {it["kind"] for it in items} == {"faq", "clause"}
    assert set(items[0]) == {"kind", "id", "text", "text_hash", "role"}
    # each paraphrase row (and the Q+A row) maps back to its FAQ id
    faq = next(f for f in source.faqs if f.paraphrases)
    rows = [it for it in items if it["id"] == faq.faq_id]
    assert {r["text"] for r in rows} == {faq.question, *faq.paraphrases, f"{faq.question} {faq.answer}"}
    assert [r["role"] for r in rows] == ["question"] + ["paraphrase"] * len(faq.paraphrases) + ["qa"]

    snap = VectorIndex(index_dir).snapshot()
    assert snap.index.ntotal == len(items)
    qvec = enc.encode_queries([faq.paraphrases[0]])
    best_row, best_score = snap.search(qvec, 1)[0][0]
    assert snap.items[best_row].id == faq.faq_id and best_score == pytest.approx(1.0, abs=1e-5)


def test_search_restricted_to_rows(source: StaticIndexSource, index_dir: Path) -> None:
    enc = HashingEncoder(dim=64)
    build_index(source, enc, index_dir)
    snap = VectorIndex(index_dir).snapshot()
    allowed = [source.clauses[0].clause_id, source.clauses[-1].clause_id]
    rows = snap.select_rows("clause", allowed)
    assert len(rows) == 2
    hits = snap.search(enc.encode_queries([source.faqs[0].question]), 10, rows)[0]
    assert sorted(snap.items[r].id for r, _ in hits) == sorted(allowed)
    assert all(snap.items[r].kind == "faq" for r, _ in snap.search(
        enc.encode_queries(["退货"]), 20, snap.select_rows("faq"))[0])


def test_no_index_yet_raises(index_dir: Path) -> None:
    with pytest.raises(IndexNotReadyError):
        VectorIndex(index_dir).snapshot()
    assert VectorIndex(index_dir).refresh_if_changed() is False


def test_half_written_version_is_never_read(source: StaticIndexSource, index_dir: Path) -> None:
    report = build_index(source, HashingEncoder(dim=64), index_dir)
    reader = VectorIndex(index_dir)
    assert reader.snapshot().version == report.version

    # a newer version dir whose writer died before manifest and CURRENT switch
    partial = index_dir / "v99990101T000000000000Z"
    partial.mkdir()
    (partial / INDEX_FILE).write_bytes(b"\x00garbage, half a faiss file")
    (partial / ITEMS_FILE).write_text('{"kind": "faq", "id": "X", "te', encoding="utf-8")
    tmp = index_dir / ".tmp-v99990101T000000000001Z-1"
    tmp.mkdir()

    assert reader.refresh_if_changed() is False
    assert VectorIndex(index_dir).snapshot().version == report.version
    assert partial.name[1:] not in list_versions(index_dir)
    with pytest.raises(IndexNotReadyError):
        switch_current(index_dir, partial.name[1:])
    assert read_current(index_dir) == report.version

    # the next build ignores the debris and garbage-collects the temp dir
    report2 = build_index(replace(source, version=2), HashingEncoder(dim=64), index_dir, skip_unchanged=False)
    assert report2.reused == report2.total and not tmp.exists() and not partial.exists()
    assert reader.refresh_if_changed() is True and reader.version == report2.version


def test_refresh_picks_up_new_version(source: StaticIndexSource, index_dir: Path) -> None:
    enc = HashingEncoder(dim=64)
    first = build_index(source, enc, index_dir)
    reader = VectorIndex(index_dir)
    old_snap = reader.snapshot()
    assert reader.refresh_if_changed() is False

    new_faq = FAQInfo("FAQ-NEW-1", "夜间配送几点截止下单", "晚上十点前下单次日达。", ("晚上几点前下单能明天到",))
    changed = replace(source, faqs=(*source.faqs, new_faq), version=2)
    second = build_index(changed, enc, index_dir)
    assert second.version > first.version

    assert reader.refresh_if_changed() is True
    assert reader.version == second.version
    assert reader.refresh_if_changed() is False
    snap = reader.snapshot()
    row, _ = snap.search(enc.encode_queries(["晚上几点前下单能明天到"]), 1)[0][0]
    assert snap.items[row].id == "FAQ-NEW-1"
    # a search already holding the old snapshot keeps a consistent old view
    assert "FAQ-NEW-1" not in {it.id for it in old_snap.items}
    assert old_snap.index.ntotal == len(old_snap.items)


def test_incremental_rebuild_embeds_only_changed_texts(source: StaticIndexSource, index_dir: Path) -> None:
    enc = CountingEncoder()
    first = build_index(source, enc, index_dir)
    assert first.embedded == first.total and first.reused == 0
    old_vectors = VectorIndex(index_dir).snapshot().vectors_by_hash()

    faqs = list(source.faqs)
    edited = faqs[0]
    faqs[0] = replace(edited, paraphrases=(*edited.paraphrases, "这个问题的全新问法一"))
    faqs[1] = replace(faqs[1], question=faqs[1].question + "（更新）")
    removed = faqs.pop(2)
    faqs.append(FAQInfo("FAQ-NEW-2", "发票可以开专票吗", "可以开具增值税专用发票。", ("能开增值税专票吗",)))
    clauses = list(source.clauses)
    clauses[0] = replace(clauses[0], text=clauses[0].text + "（以页面公示为准）")
    changed = StaticIndexSource(tuple(faqs), tuple(clauses), version=2)

    enc.passages.clear()
    second = build_index(changed, enc, index_dir)
    new_texts = {
        "这个问题的全新问法一",  # FAQ 0's Q+A row is unchanged
        faqs[1].question, f"{faqs[1].question} {faqs[1].answer}",  # question and its Q+A row
        "发票可以开专票吗", "能开增值税专票吗", "发票可以开专票吗 可以开具增值税专用发票。",
    }
    assert len(enc.passages) == second.embedded == len(new_texts) + 1  # + the edited clause
    assert new_texts <= set(enc.passages)
    assert second.reused == second.total - second.embedded
    snap = VectorIndex(index_dir).snapshot()
    assert removed.faq_id not in {it.id for it in snap.items}
    vecs = snap.vectors()
    for i, it in enumerate(snap.items):
        if it.text_hash in old_vectors:
            np.testing.assert_array_equal(vecs[i], old_vectors[it.text_hash])
    manifest = snap.manifest
    assert (manifest.embedded, manifest.reused, manifest.graph_version) == (
        second.embedded, second.reused, 2)


def test_unchanged_source_skips_and_encoder_change_reembeds(source: StaticIndexSource, index_dir: Path) -> None:
    first = build_index(source, HashingEncoder(dim=64), index_dir)
    again = build_index(source, HashingEncoder(dim=64), index_dir)
    assert again.skipped and again.version == first.version and again.embedded == 0
    # Same texts at another knowledge version (a stock load): still nothing to build.
    bumped = build_index(replace(source, version=99), HashingEncoder(dim=64), index_dir)
    assert bumped.skipped and bumped.version == first.version
    other = build_index(source, HashingEncoder(dim=32), index_dir)
    assert not other.skipped and other.embedded == other.total
    assert VectorIndex(index_dir).snapshot().manifest.dim == 32
    full = build_index(replace(source, version=3), HashingEncoder(dim=32), index_dir, full=True)
    assert full.embedded == full.total


def test_garbage_collection_keeps_two_versions(source: StaticIndexSource, index_dir: Path) -> None:
    enc = HashingEncoder(dim=16)
    reports = [build_index(replace(source, version=v), enc, index_dir, skip_unchanged=False) for v in range(1, 5)]
    assert list_versions(index_dir) == [reports[-2].version, reports[-1].version]
    assert read_current(index_dir) == reports[-1].version
    assert (index_dir / CURRENT_NAME).read_text(encoding="utf-8").strip() == f"v{reports[-1].version}"


def test_consistency_check_detects_mismatch(source: StaticIndexSource, index_dir: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    build_index(replace(source, version=7), HashingEncoder(dim=16), index_dir)
    reader = VectorIndex(index_dir)
    with caplog.at_level(logging.WARNING, logger="retrieval.vector_index"):
        assert reader.check_consistency(7) is True
        assert reader.check_consistency("7") is True
        assert not caplog.records
        assert reader.check_consistency(8) is False
    assert any("knowledge version 7" in r.getMessage() and "at 8" in r.getMessage()
               for r in caplog.records)


def test_readers_never_see_partial_versions_during_rebuilds(source: StaticIndexSource, index_dir: Path) -> None:
    enc = HashingEncoder(dim=16)
    build_index(source, enc, index_dir)
    reader = VectorIndex(index_dir)
    reader.snapshot()
    seen: set[str] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                reader.refresh_if_changed()
                snap = reader.snapshot()
                assert snap.index.ntotal == len(snap.items) == snap.manifest.counts["total"]
                seen.add(snap.version)
            except BaseException as e:  # noqa: BLE001 - collected and re-raised in the test thread
                errors.append(e)
                return

    t = threading.Thread(target=poll)
    t.start()
    try:
        for v in range(2, 8):
            extra = [FAQInfo(f"FAQ-R{v}-{i}", f"第{v}轮新增问题{i}", "答", ()) for i in range(v)]
            build_index(replace(source, faqs=(*source.faqs, *extra), version=v), enc, index_dir)
    finally:
        stop.set()
        t.join(timeout=30)
    assert not errors, errors
    assert reader.refresh_if_changed() in (True, False)
    assert reader.version == read_current(index_dir)
    assert len(seen) >= 2


def test_collect_items_stable_and_deduplicated() -> None:
    faqs = [FAQInfo("B", "问二", "答二", ("问二", "另一种问法")), FAQInfo("A", "问一", "", ())]
    clauses = [ClauseInfo("P1#2", "P1", "退货政策", "第二条", 2),
               ClauseInfo("P1#1", "P1", "退货政策", "第一条", 1)]
    items = collect_items(faqs, clauses)
    assert [(i.kind, i.id, i.text) for i in items] == [
        ("faq", "A", "问一"), ("faq", "B", "问二"), ("faq", "B", "另一种问法"), ("faq", "B", "问二 答二"),
        ("clause", "P1#1", "退货政策：第一条"), ("clause", "P1#2", "退货政策：第二条"),
    ]


def test_build_from_real_graph_knowledge(graph_db, settings, tmp_path: Path) -> None:
    from graph.knowledge import GraphKnowledge
    from ingest.loader import Loader

    db = settings.neo4j_database
    loader = Loader(graph_db, db, phone_salt=settings.phone_hash_salt.get_secret_value(),
                    reports_dir=tmp_path / "reports", show_progress=False)
    loader.load([DEMO_DIR])
    knowledge = GraphKnowledge(graph_db, db)
    assert isinstance(knowledge, IndexSource)
    version = knowledge.knowledge_version()
    enc = CountingEncoder()
    report = build_index(knowledge, enc, tmp_path / "index")
    assert report.graph_version == version > 0 and report.embedded == report.total

    reader = VectorIndex(tmp_path / "index")
    assert reader.check_consistency(version)
    # the graph and the demo files name FAQ entries and clauses the same way
    files = load_file_source(DEMO_DIR)
    expected = {(i.kind, i.id, i.text) for i in collect_items(files.faqs, files.clauses)}
    assert {(i.kind, i.id, i.text) for i in reader.snapshot().items} == expected

    # one FAQ gains a paraphrase: the graph moves on, the index lags, a rebuild embeds one text
    first = json.loads((DEMO_DIR / "faq.jsonl").read_text(encoding="utf-8").splitlines()[0])
    first["paraphrases"].append("这条是测试新增的问法")
    (tmp_path / "faq.jsonl").write_text(json.dumps(first, ensure_ascii=False) + "\n", encoding="utf-8")
    loader.load([tmp_path / "faq.jsonl"])
    assert knowledge.knowledge_version() > version
    assert reader.check_consistency(knowledge.knowledge_version()) is False
    enc.passages.clear()
    second = build_index(knowledge, enc, tmp_path / "index")
    assert enc.passages == ["这条是测试新增的问法"] and second.embedded == 1
    assert reader.refresh_if_changed() and reader.check_consistency(knowledge.knowledge_version())
