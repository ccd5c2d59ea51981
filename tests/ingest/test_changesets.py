"""Change sets: diff without writing, apply as one transaction, exact rollback, stale rejection."""

from __future__ import annotations

import json

import pytest

from graph.knowledge import GraphKnowledge, knowledge_version
from ingest.errors import ChangeSetNotFound, ChangeSetStateError, StaleChangeSetError, ValidationFailed
from schema.records import ProductRecord, StockUpdate
from tests.ingest.store import PRODUCTS, run_cli, snapshot, write_store


def _catalogue(snap):
    """A snapshot without the bookkeeping nodes a change set itself adds."""
    skip = ("KnowledgeVersion", "ChangeSet")
    return {k: [x for x in v if not any(s in x for s in skip)] for k, v in snap.items()}


def _stock(graph_db, db, sku):
    records, _, _ = graph_db.execute_query("MATCH (v:Variant {sku: $sku}) RETURN v.stock AS s", sku=sku,
                                           database_=db)
    return records[0]["s"]


def test_create_diffs_without_writing_then_apply_and_rollback(loader, service, graph_db, db, store, tmp_path,
                                                              changes):
    loader.load([store])
    before = _catalogue(snapshot(graph_db, db))
    stock = tmp_path / "stock_update.csv"
    stock.write_text("sku,stock\nP2001-RED-M,2\nP2001-RED-L,7\nP3001-BLK-75B,10\n", encoding="utf-8")
    cs = service.create([stock], author="ops-li")
    assert cs.status == "pending" and cs.author == "ops-li"
    assert cs.counts["variant"].updated == 2 and cs.counts["variant"].unchanged == 1
    diff = {(c.id, c.op): [(f.field, f.old, f.new) for f in c.fields] for c in cs.changes}
    assert diff == {("P2001-RED-L", "updated"): [("stock", 0, 7)],
                    ("P2001-RED-M", "updated"): [("stock", 5, 2)]}
    assert set(cs.base_hashes) == {"variant:P2001-RED-L", "variant:P2001-RED-M"}
    assert _catalogue(snapshot(graph_db, db)) == before
    assert knowledge_version(graph_db, db) == 1
    assert service.get(cs.id).changes == cs.changes

    applied = service.apply(cs.id)
    assert applied.status == "applied" and applied.applied_at is not None
    assert applied.knowledge_version == 2 == knowledge_version(graph_db, db)
    assert (_stock(graph_db, db, "P2001-RED-M"), _stock(graph_db, db, "P2001-RED-L")) == (2, 7)
    assert changes[-1].source == "apply" and changes[-1].change_set_id == cs.id
    assert changes[-1].updated == {"variant": ["P2001-RED-L", "P2001-RED-M"]}
    with pytest.raises(ChangeSetStateError):
        service.apply(cs.id)

    rolled = service.rollback(cs.id)
    assert rolled.status == "rolled_back" and rolled.rolled_back_at is not None
    assert _catalogue(snapshot(graph_db, db)) == before
    assert knowledge_version(graph_db, db) == 3
    assert changes[-1].source == "rollback"
    with pytest.raises(ChangeSetStateError):
        service.rollback(cs.id)


def test_apply_rejects_a_stale_change_set_and_writes_nothing(loader, service, graph_db, db, store, tmp_path):
    loader.load([store])
    stock = tmp_path / "stock_delta.csv"
    stock.write_text("sku,delta\nP2001-RED-M,-1\nP4001-BLK-256,5\n", encoding="utf-8")
    cs = service.create([stock], author="ops")
    # Someone else changes one of the variants in the meantime.
    other = tmp_path / "stock_other.csv"
    other.write_text("sku,stock\nP4001-BLK-256,1\n", encoding="utf-8")
    loader.load([other])
    before = snapshot(graph_db, db)
    with pytest.raises(StaleChangeSetError) as info:
        service.apply(cs.id)
    assert info.value.conflicts == ["variant:P4001-BLK-256"]
    assert "P4001-BLK-256" in str(info.value)
    assert snapshot(graph_db, db) == before
    assert service.get(cs.id).status == "pending"


def test_rollback_restores_created_and_deleted_entities(loader, service, graph_db, db, store, tmp_path):
    loader.load([store])
    original = _catalogue(snapshot(graph_db, db))
    products = [p for p in PRODUCTS if p["product_id"] != "P4001"] + [
        {"product_id": "P5001", "name": "羊毛围巾", "brand": "棉语", "category": "配饰/围巾", "price": 159,
         "policies": ["POL-DRESS"], "variants": [{"sku": "P5001-GRY", "attributes": {"color": "灰色"}, "stock": 4}],
         "faq": [{"q": "会扎人吗?", "a": "不扎"}]},
    ]
    products[1] = {**products[1], "price": 269}
    changed = write_store(tmp_path / "v2", products=products)
    cs = service.create([changed / "products.jsonl"], author="ops", prune=True)
    ops = {(c.entity, c.id): c.op for c in cs.changes}
    assert ops == {("product", "P5001"): "created", ("variant", "P5001-GRY"): "created",
                   ("faq", "P5001-FAQ-1"): "created", ("product", "P2001"): "updated",
                   ("product", "P4001"): "deleted", ("variant", "P4001-BLK-256"): "deleted",
                   ("variant", "P4001-WHT-512"): "deleted"}
    p2001 = next(c for c in cs.changes if c.id == "P2001")
    assert [(f.field, f.old, f.new) for f in p2001.fields] == [("price", 299.0, 269.0)]
    assert _catalogue(snapshot(graph_db, db)) == original

    service.apply(cs.id)
    k = GraphKnowledge(graph_db, db)
    assert k.product("P4001") is None and k.product("P5001").name == "羊毛围巾"
    assert k.product("P2001").price == 269.0

    service.rollback(cs.id)
    # Exactly as before: P5001 gone, P4001 back with its variants, FAQ link, brand
    # policy, order line and the categories it used.
    restored = _catalogue(snapshot(graph_db, db))
    leftover = sorted(set(restored["nodes"]) - set(original["nodes"]))
    # Shared category nodes created by the change set stay (they are not entities).
    assert all('"Category"' in n for n in leftover), leftover
    assert sorted(set(original["nodes"]) - set(restored["nodes"])) == []
    assert restored["rels"] == [r for r in restored["rels"] if r in original["rels"] or "配饰" in r]
    assert sorted(set(original["rels"]) - set(restored["rels"])) == []


def test_rollback_is_rejected_when_the_graph_moved_on(loader, service, graph_db, db, store, tmp_path):
    loader.load([store])
    cs = service.create([StockUpdate(sku="P2001-BLU-M", delta=2)], author="api")
    service.apply(cs.id)
    assert _stock(graph_db, db, "P2001-BLU-M") == 5
    later = tmp_path / "stock_later.csv"
    later.write_text("sku,stock\nP2001-BLU-M,0\n", encoding="utf-8")
    loader.load([later])
    before = snapshot(graph_db, db)
    with pytest.raises(StaleChangeSetError, match="variant:P2001-BLU-M"):
        service.rollback(cs.id)
    assert snapshot(graph_db, db) == before and service.get(cs.id).status == "applied"


def test_records_api_validates_like_files(loader, service, graph_db, db, store):
    loader.load([store])
    with pytest.raises(ValidationFailed, match="unknown SKU NOPE"):
        service.create([StockUpdate(sku="NOPE", stock=1)], author="api")
    record = ProductRecord.model_validate({**PRODUCTS[2], "name": "蕾丝文胸 新款"})
    cs = service.create([record], author="api")
    assert [(c.id, [f.field for f in c.fields]) for c in cs.changes] == [("P3001", ["name"])]
    with pytest.raises(ChangeSetNotFound):
        service.get("CS-missing")
    assert [item.id for item in service.list()] == [cs.id]


def test_cli_changeset_flow(loader, graph_db, db, store, settings, tmp_path):
    loader.load([store])
    stock = tmp_path / "stock_update.csv"
    stock.write_text("sku,stock\nP3001-BLK-75B,1\n", encoding="utf-8")
    created = run_cli(settings, "changeset", "create", str(stock), "--author", "ops")
    assert created.returncode == 0, created.stderr
    cs_id = json.loads(created.stdout)["id"]
    assert f"pending change set id: {cs_id}" in created.stderr
    assert "stock: 10 -> 1" in created.stderr
    shown = run_cli(settings, "changeset", "show", cs_id, "--json")
    assert json.loads(shown.stdout)["status"] == "pending"
    applied = run_cli(settings, "changeset", "apply", cs_id)
    assert applied.returncode == 0 and _stock(graph_db, db, "P3001-BLK-75B") == 1
    again = run_cli(settings, "changeset", "apply", cs_id)
    assert again.returncode == 1 and again.stderr.strip().endswith("is applied, not pending")
    rolled = run_cli(settings, "rollback", cs_id)
    assert rolled.returncode == 0 and _stock(graph_db, db, "P3001-BLK-75B") == 10
    missing = run_cli(settings, "changeset", "show", "CS-nope")
    assert missing.returncode == 1 and "no change set CS-nope" in missing.stderr
