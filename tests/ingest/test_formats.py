"""Each input format loads into the documented graph shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.knowledge import GraphKnowledge, knowledge_version
from graph.orders import GraphOrderService
from ingest.errors import InputError
from ingest.readers import discover, kind_of
from tests.ingest.store import PRODUCTS, counts, write_jsonl


def _one(driver, db, query, **params):
    records, _, _ = driver.execute_query(query, params, database_=db)
    return records


def test_seed_record_loads_exactly_as_written(loader, graph_db, db, tmp_path):
    path = tmp_path / "products.jsonl"
    path.write_text('{"product_id": "P1001", "attributes": {"size": ["S","M","L"], "color": ["红","蓝"], '
                    '"stock": 150}, "faq": [{"q": "如何退货?", "a": "7天内无理由退货..."}]}\n', encoding="utf-8")
    summary = loader.load([path])
    assert summary.counts["product"].created == 1
    assert summary.counts["faq"].created == 1
    props = _one(graph_db, db, "MATCH (p:Product {product_id: 'P1001'}) RETURN properties(p) AS p")[0]["p"]
    assert json.loads(props["options_json"]) == {"size": ["S", "M", "L"], "color": ["红", "蓝"]}
    options = _one(graph_db, db, "MATCH (:Product {product_id: 'P1001'})-[:HAS_OPTION]->(a:AttrValue) "
                                 "RETURN a.key AS k, a.value AS v ORDER BY k, v")
    assert [(r["k"], r["v"]) for r in options] == [("color", "红"), ("color", "蓝"), ("size", "L"),
                                                   ("size", "M"), ("size", "S")]
    assert props["total_stock"] == 150
    assert counts(graph_db, db).get("Variant", 0) == 0
    faq = _one(graph_db, db, "MATCH (f:FAQ)-[:ABOUT]->(p:Product {product_id: 'P1001'}) "
                             "RETURN f.faq_id AS id, f.question AS q, f.answer AS a")
    assert [(r["id"], r["q"], r["a"]) for r in faq] == [("P1001-FAQ-1", "如何退货?", "7天内无理由退货...")]
    info = GraphKnowledge(graph_db, db).product("P1001")
    assert info.options == {"size": ("S", "M", "L"), "color": ("红", "蓝")}
    assert info.total_stock == 150 and info.name is None


def test_products_jsonl_builds_catalogue_graph(loader, graph_db, db, store):
    loader.load([store / "policies.jsonl", store / "products.jsonl"])
    c = counts(graph_db, db)
    assert c["Product"] == 4 and c["Variant"] == 6 and c["Brand"] == 2
    # 服装, 服装/女装, 服装/女装/连衣裙, 服装/内衣, 服装/内衣/文胸, 数码, 数码/手机
    assert c["Category"] == 7
    rows = _one(graph_db, db, """
        MATCH (v:Variant {sku: 'P2001-BLU-M'})-[:VARIANT_OF]->(p:Product)-[:IN_CATEGORY]->(leaf:Category)
        MATCH (p)-[:MADE_BY]->(b:Brand)
        MATCH path = (leaf)-[:SUBCATEGORY_OF*]->(root:Category) WHERE NOT (root)-[:SUBCATEGORY_OF]->()
        RETURN v.attributes_json AS attrs, v.stock AS stock, v.price AS price, p.alias_text AS aliases,
               b.name AS brand, [n IN nodes(path) | n.name] AS chain, leaf.depth AS depth""")
    r = rows[0]
    assert (json.loads(r["attrs"]), r["stock"], r["price"]) == ({"color": "蓝色", "size": "M"}, 3, 279.5)
    assert r["aliases"] == "碎花裙 法式连衣裙" and r["brand"] == "棉语"
    assert r["chain"] == ["连衣裙", "女装", "服装"] and r["depth"] == 3
    storage = _one(graph_db, db, "MATCH (v:Variant {sku: 'P4001-WHT-512'})-[:HAS_VALUE]->(a:AttrValue "
                                 "{key_norm: 'storage'}) RETURN a.value AS s, v.price AS p")
    assert storage[0]["s"] == "512GB" and storage[0]["p"] == 4499.0
    linked = _one(graph_db, db, "MATCH (:Policy {policy_id: 'POL-DRESS'})-[r:APPLIES_TO]->(:Product "
                                "{product_id: 'P2001'}) RETURN r.via AS via")
    assert [r["via"] for r in linked] == ["product"]


def test_flat_catalogue_csv_groups_rows_by_product(loader, graph_db, db, tmp_path):
    path = tmp_path / "products_flat.csv"
    path.write_text(
        "product_id,name,brand,category,price,description,aliases,sku,color,size,stock,variant_price,attr_storage\n"
        "P10,纯棉T恤,棉语,服装/男装/T恤,59,精梳棉,T恤|短袖,P10-W-M,白色,M,12,,\n"
        "P20,星耀 X15,星耀,数码/手机,4999,,,P20-B-256,曜石黑,,3,4999,256GB\n"
        "P10,,,,,,,P10-W-L,白色,L,0,65,\n"
        "P30,帆布包,棉语,箱包,39,,,,,,,,\n",
        encoding="utf-8")
    summary = loader.load([path])
    assert summary.counts["product"].created == 3 and summary.counts["variant"].created == 3
    k = GraphKnowledge(graph_db, db)
    p10 = k.product("P10")
    assert p10.aliases == ("T恤", "短袖") and p10.price == 59.0 and p10.category == "服装/男装/T恤"
    assert [(v.sku, v.stock, v.price) for v in k.variants("P10")] == [("P10-W-L", 0, 65.0), ("P10-W-M", 12, 59.0)]
    assert k.variants("P20")[0].attributes == {"color": "曜石黑", "storage": "256GB"}
    assert k.variants("P30") == [] and k.product("P30").name == "帆布包"


def test_policies_faq_orders_and_phone_privacy(loader, graph_db, db, store, salt):
    loader.load([store])
    c = counts(graph_db, db)
    assert c["Policy"] == 4 and c["Clause"] == 5 and c["Order"] == 2
    assert c["FAQ"] == 3 + 2  # FAQ file + inline product FAQ
    window = _one(graph_db, db, "MATCH (p:Policy {policy_id: 'POL-DRESS'}) RETURN p.effective_from AS f, "
                                "p.effective_to AS t, p.version AS v")[0]
    assert window["f"].iso_format().startswith("2024-01-01T00:00:00") and window["f"].utcoffset().seconds == 8 * 3600
    assert window["t"].year == 2030
    version = _one(graph_db, db, "MATCH (p:Policy {policy_id: 'POL-RETURN'}) RETURN p.version AS v")[0]["v"]
    assert version == "2"
    about = _one(graph_db, db, "MATCH (f:FAQ)-[:ABOUT]->(t) RETURN f.faq_id AS id, labels(t)[0] AS label "
                               "ORDER BY id")
    assert {(r["id"], r["label"]) for r in about} >= {("FAQ-SHIP", "Policy"), ("FAQ-DRESS", "Category"),
                                                      ("FAQ-X14", "Product")}
    props = _one(graph_db, db, "MATCH (o:Order {order_id: 'O202405020002'}) RETURN properties(o) AS p")[0]["p"]
    assert "13900001234" not in json.dumps(props, default=str)
    assert props["phone_last4"] == "1234" and len(props["phone_hash"]) == 64
    contains = _one(graph_db, db, "MATCH (:Order {order_id: 'O202405010001'})-[r:CONTAINS]->(v:Variant) "
                                  "RETURN v.sku AS sku, r.qty AS qty ORDER BY sku")
    assert [(r["sku"], r["qty"]) for r in contains] == [("P2001-RED-M", 1), ("P4001-BLK-256", 2)]
    orders = GraphOrderService(graph_db, db, salt)
    assert orders.verify_phone("O202405020002", "13900001234")
    assert orders.lookup("O202405010001").items == (("P2001-RED-M", 1), ("P4001-BLK-256", 2))


@pytest.mark.parametrize("column,rows,expected", [
    ("stock", ["P2001-RED-M,9", "P3001-BLK-75B,0"], {"P2001-RED-M": 9, "P3001-BLK-75B": 0}),
    ("delta", ["P2001-RED-M,-2", "P2001-RED-L,+4"], {"P2001-RED-M": 3, "P2001-RED-L": 4}),
])
def test_stock_csv_absolute_and_delta(loader, graph_db, db, store, tmp_path, column, rows, expected):
    loader.load([store / "policies.jsonl", store / "products.jsonl"])
    path = tmp_path / "stock_today.csv"
    path.write_text(f"sku,{column}\n" + "\n".join(rows) + "\n", encoding="utf-8")
    before = knowledge_version(graph_db, db)
    summary = loader.load([path])
    assert summary.counts["variant"].updated == len(expected)
    assert knowledge_version(graph_db, db) == before + 1
    k = GraphKnowledge(graph_db, db)
    for sku, stock in expected.items():
        assert [v.stock for v in k.variants(sku.split("-")[0]) if v.sku == sku] == [stock]


def test_kind_detection_and_override(tmp_path):
    assert kind_of(Path("products_2024.csv")) == "products"
    assert kind_of(Path("stock_delta.csv")) == "stock"
    assert kind_of(Path("faq.jsonl")) == "faq"
    assert kind_of(Path("policies.csv")) is None
    assert kind_of(Path("notes.txt")) is None
    other = write_jsonl(tmp_path / "catalogue.jsonl", PRODUCTS)
    with pytest.raises(InputError, match="cannot tell the kind"):
        discover([other])
    assert discover([other], kind="products")[0].kind == "products"
    (tmp_path / "README.txt").write_text("not data")
    write_jsonl(tmp_path / "orders.jsonl", [])
    found = discover([tmp_path])
    assert [s.path.name for s in found] == ["orders.jsonl"]
    with pytest.raises(InputError, match="no such file"):
        discover([tmp_path / "missing.jsonl"])


def test_explicit_kind_load(loader, graph_db, db, tmp_path):
    path = write_jsonl(tmp_path / "catalogue.jsonl", PRODUCTS[:1])
    summary = loader.load([path], kind="products")
    assert summary.counts["product"].created == 1
    assert counts(graph_db, db)["Product"] == 1
