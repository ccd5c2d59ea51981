"""Reloads are no-ops, --prune deletes only what a full load no longer has, and
recreated nodes get their relationships back."""

from __future__ import annotations

import neo4j

from graph.knowledge import knowledge_version
from ingest.graph_state import TxReader
from ingest.models import ENTITY_TYPES
from ingest.states import content_hash
from tests.ingest.store import PRODUCTS, counts, snapshot, write_store


def _without_version(snap):
    return {k: [x for x in v if "KnowledgeVersion" not in x] for k, v in snap.items()}


def test_reload_is_unchanged_and_writes_nothing(loader, graph_db, db, store, changes):
    first = loader.load([store])
    assert first.counts["variant"].created == 6 and first.knowledge_version == 1
    assert len(changes) == 1 and changes[0].created["faq"] == sorted(
        ["FAQ-SHIP", "FAQ-DRESS", "FAQ-X14", "P1001-FAQ-1", "P2001-FAQ-1"])
    before = snapshot(graph_db, db, skip=("Migration",))
    second = loader.load([store])
    for entity, c in second.counts.items():
        assert (c.created, c.updated, c.deleted) == (0, 0, 0), entity
        assert c.unchanged > 0
    assert second.knowledge_version == 1 and not second.changed
    assert snapshot(graph_db, db) == before  # KnowledgeVersion included: untouched
    assert len(changes) == 1  # no on_change for a no-op


def test_dry_run_counts_without_writing(loader, graph_db, db, store):
    summary = loader.load([store], dry_run=True)
    assert summary.dry_run and summary.counts["product"].created == 4
    assert snapshot(graph_db, db) == {"nodes": [], "rels": []}


def test_changed_field_is_an_update_and_bumps_version(loader, graph_db, db, store, tmp_path, changes):
    loader.load([store])
    products = [dict(p) for p in PRODUCTS]
    products[2] = {**products[2], "price": 119}
    changed = write_store(tmp_path / "v2", products=products)
    summary = loader.load([changed / "products.jsonl"])
    assert summary.counts["product"].updated == 1 and summary.counts["product"].unchanged == 3
    assert summary.counts["variant"].unchanged == 6
    assert knowledge_version(graph_db, db) == 2
    assert changes[-1].updated == {"product": ["P3001"]} and changes[-1].knowledge_version == 2


def test_states_read_back_hash_to_the_stored_hash(loader, graph_db, db, store):
    loader.load([store])
    with graph_db.session(database=db, default_access_mode=neo4j.READ_ACCESS) as session:
        def check(tx):
            reader = TxReader(tx)
            checked = 0
            for entity in ENTITY_TYPES:
                ids = reader.all_ids(entity, "faq") | (reader.all_ids(entity, "product") if entity == "faq" else set())
                stored = reader.hashes(entity, ids)
                for eid, state in reader.states(entity, ids).items():
                    assert content_hash(state) == stored[eid], (entity, eid)
                    checked += 1
            return checked
        assert session.execute_read(check) == 4 + 6 + 4 + 5 + 2


def test_prune_deletes_missing_records_of_loaded_types_only(loader, graph_db, db, store, tmp_path):
    loader.load([store])
    full = _without_version(snapshot(graph_db, db))
    smaller = write_store(tmp_path / "smaller", products=PRODUCTS[:3])
    kept = loader.load([smaller / "products.jsonl"])
    assert kept.counts["product"].deleted == 0 and counts(graph_db, db)["Product"] == 4
    pruned = loader.load([smaller / "products.jsonl"], prune=True)
    assert pruned.counts["product"].deleted == 1 and pruned.counts["variant"].deleted == 2
    assert pruned.counts["faq"].deleted == 0  # FAQ-X14 belongs to the FAQ file, not loaded here
    c = counts(graph_db, db)
    assert c["Product"] == 3 and c["Variant"] == 4 and c["FAQ"] == 5 and c["Policy"] == 4
    records, _, _ = graph_db.execute_query(
        "MATCH (o:Order {order_id: 'O202405010001'}) RETURN o.item_skus AS skus, "
        "[(o)-[:CONTAINS]->(v) | v.sku] AS linked", database_=db)
    assert records[0]["skus"] == ["P2001-RED-M", "P4001-BLK-256"] and records[0]["linked"] == ["P2001-RED-M"]
    # The full load again recreates P4001 and every relationship that pointed at it.
    again = loader.load([store])
    assert again.counts["product"].created == 1 and again.counts["variant"].created == 2
    assert _without_version(snapshot(graph_db, db)) == full


def test_prune_of_inline_faq_and_policies(loader, graph_db, db, store, tmp_path):
    loader.load([store])
    products = [dict(p) for p in PRODUCTS]
    products[1] = {k: v for k, v in products[1].items() if k != "faq"}
    changed = write_store(tmp_path / "v2", products=products)
    summary = loader.load([changed / "products.jsonl"], prune=True)
    assert summary.counts["faq"].deleted == 1
    records, _, _ = graph_db.execute_query("MATCH (f:FAQ) RETURN f.faq_id AS id ORDER BY id", database_=db)
    assert [r["id"] for r in records] == ["FAQ-DRESS", "FAQ-SHIP", "FAQ-X14", "P1001-FAQ-1"]


def test_prune_is_skipped_for_a_type_with_rejected_records(loader, graph_db, db, store, tmp_path):
    loader.load([store])
    products = [dict(p) for p in PRODUCTS[:2]] + [{"product_id": "P3001", "price": -1}]
    partial = write_store(tmp_path / "partial", products=products)
    summary = loader.load([partial / "products.jsonl"], prune=True, skip_invalid=True)
    assert summary.counts["product"].rejected == 1 and summary.counts["product"].deleted == 0
    assert counts(graph_db, db)["Product"] == 4
