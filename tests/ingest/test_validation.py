"""Every kind of bad record is reported as file:line field: reason, and nothing is written."""

from __future__ import annotations

import copy
import json

import pytest

from ingest.errors import ValidationFailed
from tests.ingest.store import FAQ, ORDERS, POLICIES, PRODUCTS, run_cli, snapshot, write_store


def _bad(rows, index, **changes):
    rows = copy.deepcopy(rows)
    for key, value in changes.items():
        target = rows[index]
        *path, last = key.split(".")
        for part in path:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return rows


CASES = [
    # (file, rows, line, field, reason fragment)
    ("products", _bad(PRODUCTS, 1, product_id=...), 2, "product_id", "Field required"),
    ("products", _bad(PRODUCTS, 1, **{"variants.0.stock": -1}), 2, "variants[0].stock",
     "greater than or equal to 0"),
    ("products", _bad(PRODUCTS, 0, **{"attributes.stock": -5}), 1, "attributes.stock", "greater than or equal to 0"),
    ("products", _bad(PRODUCTS, 2, price="129元"), 3, "price", "valid number"),
    ("products", _bad(PRODUCTS, 2, price="129"), 3, "price", "valid number"),
    ("products", _bad(PRODUCTS, 2, price=True), 3, "price", "valid number"),
    ("products", _bad(PRODUCTS, 1, policies=["POL-NOPE"]), 2, "policies[0]", "unknown policy POL-NOPE"),
    ("products", _bad(PRODUCTS, 3, colour="黑"), 4, "colour", "Extra inputs are not permitted"),
    ("products", _bad(PRODUCTS, 3, **{"variants.1.sku": "P2001-RED-M"}), 4, "variants[1].sku",
     "duplicate sku P2001-RED-M"),
    ("products", PRODUCTS + [PRODUCTS[2]], 5, "product_id", "duplicate product_id P3001"),
    ("products", _bad(PRODUCTS, 3, **{"variants.0.attributes.sku": "x"}), 4, "variants[0].attributes.sku",
     "reserved"),
    ("policies", _bad(POLICIES, 1, effective_to="2023-12-31"), 2, "(record)", "effective_to must be later"),
    ("policies", _bad(POLICIES, 1, effective_from="2024-13-45"), 2, "effective_from", "valid datetime"),
    ("policies", _bad(POLICIES, 0, **{"applies_to.products": ["P404"]}), 1, "applies_to.products[0]",
     "unknown product P404"),
    ("faq", _bad(FAQ, 2, **{"about.product_id": "P404"}), 3, "about.product_id", "unknown product P404"),
    ("faq", FAQ + [FAQ[0]], 4, "faq_id", "duplicate faq_id FAQ-SHIP"),
    ("orders", _bad(ORDERS, 0, status="已完成"), 1, "status", "unknown order status '已完成'"),
    ("orders", _bad(ORDERS, 1, **{"items.0.sku": "NOPE-1"}), 2, "items[0].sku", "unknown SKU NOPE-1"),
    ("orders", _bad(ORDERS, 0, paid_at="2024-04-30T00:00:00"), 1, "(record)", "paid_at is earlier"),
    ("orders", _bad(ORDERS, 0, created_at="yesterday"), 1, "created_at", "valid datetime"),
    ("orders", _bad(ORDERS, 1, phone="12"), 2, "phone", "5 to 15 digits"),
]


@pytest.mark.parametrize("kind,rows,line,field,reason", CASES,
                         ids=[f"{c[0]}-{c[3]}-{n}" for n, c in enumerate(CASES)])
def test_bad_record_rejects_whole_load(loader, graph_db, db, tmp_path, kind, rows, line, field, reason):
    store = write_store(tmp_path / "store", **{kind: rows})
    before = snapshot(graph_db, db)
    with pytest.raises(ValidationFailed) as info:
        loader.load([store])
    issues = [i for i in info.value.issues if i.file.endswith(f"{kind}.jsonl")]
    assert any(i.line == line and i.field == field and reason in i.reason for i in issues), issues
    assert str(issues[0]).startswith(f"{issues[0].file}:{issues[0].line} {issues[0].field}: ")
    assert snapshot(graph_db, db) == before


def test_malformed_json_line_and_non_object(loader, graph_db, db, tmp_path):
    store = write_store(tmp_path / "store")
    text = (store / "faq.jsonl").read_text(encoding="utf-8")
    (store / "faq.jsonl").write_text(text + '{"faq_id": "F9", "question": \n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        loader.load([store])
    found = {(i.line, i.field, i.reason.split(":")[0]) for i in info.value.issues}
    assert (4, "(line)", "malformed JSON") in found
    assert (5, "(line)", "expected a JSON object, got list") in found
    assert snapshot(graph_db, db) == {"nodes": [], "rels": []}


def test_all_problems_reported_together(loader, graph_db, db, tmp_path):
    products = _bad(PRODUCTS, 1, price="abc", **{"variants.2.stock": -3})
    orders = _bad(ORDERS, 1, status="丢了")
    store = write_store(tmp_path / "store", products=products, orders=orders)
    with pytest.raises(ValidationFailed) as info:
        loader.load([store])
    described = [str(i) for i in info.value.issues]
    assert any(d.endswith("products.jsonl:2 price: Input should be a valid number") for d in described)
    assert any("products.jsonl:2 variants[2].stock:" in d for d in described)
    assert any("orders.jsonl:2 status:" in d for d in described)
    # Order 1 also names P2001's SKUs, which are now unknown: rejection cascades.
    assert any("orders.jsonl:1 items[0].sku: unknown SKU P2001-RED-M" in d for d in described)


def test_references_are_checked_against_the_graph(loader, graph_db, db, tmp_path, store):
    loader.load([store / "policies.jsonl", store / "products.jsonl"])
    # Orders alone: their SKUs exist only in the graph, which is enough.
    summary = loader.load([store / "orders.jsonl"])
    assert summary.counts["order"].created == 2
    stock = tmp_path / "stock_fix.csv"
    stock.write_text("sku,delta\nP2001-RED-M,-6\nGHOST-1,3\n", encoding="utf-8")
    before = snapshot(graph_db, db)
    with pytest.raises(ValidationFailed) as info:
        loader.load([stock])
    described = sorted(str(i).split("stock_fix.csv:")[1] for i in info.value.issues)
    assert described == ["2 delta: stock would become -1 (current 5, delta -6)",
                         "3 sku: unknown SKU GHOST-1 (not in this load nor in the graph)"]
    assert snapshot(graph_db, db) == before


def test_stock_csv_errors(loader, graph_db, db, store, tmp_path):
    loader.load([store / "policies.jsonl", store / "products.jsonl"])
    before = snapshot(graph_db, db)
    bad_header = tmp_path / "stock_a.csv"
    bad_header.write_text("sku,qty\nP2001-RED-M,1\n", encoding="utf-8")
    bad_rows = tmp_path / "stock_b.csv"
    bad_rows.write_text("sku,stock\nP2001-RED-M,-1\nP2001-RED-L,1.5\nP2001-RED-L,2\n,4\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        loader.load([bad_header, bad_rows])
    got = {(i.file.rsplit("/", 1)[-1], i.line, i.field) for i in info.value.issues}
    assert ("stock_a.csv", 1, "(header)") in got
    assert ("stock_b.csv", 2, "stock") in got  # negative
    assert ("stock_b.csv", 3, "stock") in got  # not a whole number
    assert ("stock_b.csv", 4, "sku") in got  # duplicate in one file
    assert ("stock_b.csv", 5, "sku") in got  # missing sku
    assert snapshot(graph_db, db) == before


def test_catalogue_csv_errors(loader, graph_db, db, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        "product_id,name,brand,category,price,description,aliases,sku,color,size,stock,variant_price\n"
        "P1,衬衫,棉语,服装/男装,abc,,,P1-A,白色,M,3,\n"
        "P1,衬衫二号,,,,,,P1-B,白色,L,-1,\n"
        ",无编号,,,,,,,,,,\n"
        "P2,外套,棉语,服装//外套,99,,,,红色,,,\n",
        encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        loader.load([path])
    got = {(i.line, i.field) for i in info.value.issues}
    assert {(2, "price"), (3, "name"), (3, "variants[1].stock"), (4, "product_id"), (5, "category"),
            (5, "sku")} <= got
    unknown = tmp_path / "products_x.csv"
    unknown.write_text("product_id,name,weight\nP1,a,3\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="unknown column"):
        loader.load([unknown])
    assert snapshot(graph_db, db) == {"nodes": [], "rels": []}


def test_skip_invalid_writes_valid_records_and_reports_rejects(loader, graph_db, db, tmp_path):
    policies = _bad(POLICIES, 1, title="")  # POL-DRESS invalid -> P2001 (refers to it) rejected too
    store = write_store(tmp_path / "store", policies=policies, orders=ORDERS[1:])
    report = tmp_path / "rejected.jsonl"
    summary = loader.load([store], skip_invalid=True, report_path=report)
    assert summary.counts["policy"].rejected == 1 and summary.counts["policy"].created == 3
    assert summary.counts["product"].rejected == 1 and summary.counts["product"].created == 3
    rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert {(r["kind"], r["id"]) for r in rows} == {("policies", "POL-DRESS"), ("products", "P2001")}
    p2001 = next(r for r in rows if r["id"] == "P2001")
    assert p2001["record"]["name"] == "法式碎花连衣裙"
    assert any("policies[0]: unknown policy POL-DRESS" in e for e in p2001["errors"])
    records, _, _ = graph_db.execute_query("MATCH (p:Product) RETURN p.product_id AS id ORDER BY id",
                                           database_=db)
    assert [r["id"] for r in records] == ["P1001", "P3001", "P4001"]


def test_cli_reports_every_problem_and_exits_1(graph_db, db, settings, tmp_path):
    store = write_store(tmp_path / "store", products=_bad(PRODUCTS, 2, price="x"),
                        orders=_bad(ORDERS, 1, status="?"))
    proc = run_cli(settings, "load", str(store))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.endswith("products.jsonl:3 price: Input should be a valid number") for line in lines)
    assert any("orders.jsonl:2 status: unknown order status '?'" in line for line in lines)
    assert "nothing was written" in lines[-1]
    assert proc.stdout == ""
    assert snapshot(graph_db, db) == {"nodes": [], "rels": []}
    proc = run_cli(settings, "load", str(store), "--skip-invalid", "--report", str(tmp_path / "r.jsonl"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["counts"]["product"]["rejected"] == 1 and summary["counts"]["order"]["rejected"] == 1
    assert summary["report_path"].endswith("r.jsonl")
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2
