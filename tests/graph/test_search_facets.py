"""Attribute constraints of a product search as facets of the graph: parameterised
Cypher over the shared (:AttrValue) nodes, found through their indexes.

The shop is generated here (never a customer's data).
"""

from __future__ import annotations

import json

import pytest

from graph.queries import search as q
from graph.search import Facet, ProductSearch
from ingest.loader import Loader

PRODUCTS = [
    {"product_id": "F-CUP", "name": "测试保温杯", "category": "家居/杯具", "price": 99, "variants": [
        {"sku": "F-CUP-A", "attributes": {"颜色": "湖水蓝", "容量": "500ml"}, "stock": 4},
        {"sku": "F-CUP-B", "attributes": {"颜色": "湖水蓝", "容量": "750ml"}, "stock": 7, "price": 119},
        {"sku": "F-CUP-C", "attributes": {"颜色": "曜石黑", "容量": "750ml"}, "stock": 2, "price": 119}]},
    {"product_id": "F-TEE", "name": "测试T恤", "category": "服装/上衣", "price": 59, "variants": [
        {"sku": "F-TEE-L", "attributes": {"color": "白", "size": "L", "图案": "黑猫"}, "stock": 3},
        {"sku": "F-TEE-XL", "attributes": {"color": "白", "size": "XL", "图案": "黑猫"}, "stock": 5}]},
    # The store's own name for the colour option (not a known colour name).
    {"product_id": "F-BAG", "name": "测试包", "category": "箱包", "price": 199, "variants": [
        {"sku": "F-BAG-1", "attributes": {"外观": "磨砂黑"}, "stock": 1}]},
    # Shelved elsewhere, but a vacuum cup by its name; and an accessory that only names one.
    {"product_id": "F-KID", "name": "测试儿童吸管保温杯 400ml", "category": "家居/儿童水杯", "price": 89, "variants": [
        {"sku": "F-KID-1", "attributes": {"颜色": "樱花粉", "容量": "400ml"}, "stock": 6}]},
    {"product_id": "F-POUCH", "name": "测试保温杯收纳袋", "category": "家居/收纳", "price": 19, "variants": [
        {"sku": "F-POUCH-1", "attributes": {"颜色": "灰"}, "stock": 6}]},
    # Seed shape: option lists on the product, no variants.
    {"product_id": "F-SEED", "attributes": {"颜色": ["红", "黑"], "尺寸": ["S", "L"], "stock": 9}},
]


@pytest.fixture()
def search(graph_db, settings, tmp_path) -> ProductSearch:
    path = tmp_path / "products.jsonl"
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PRODUCTS), encoding="utf-8")
    Loader(graph_db, settings.neo4j_database, phone_salt="s", show_progress=False).load([path])
    return ProductSearch(graph_db, settings.neo4j_database)


def test_a_colour_word_matches_inside_the_stores_colour_names_under_the_option_only(search):
    got = search.facet_matches([Facet("color", ("黑色",))])
    # 曜石黑 / 磨砂黑 hold 黑; the T-shirt's 黑猫 is a pattern, and the T-shirt has a colour option.
    assert got.variants == {"F-CUP": {"F-CUP-C": ("曜石黑",)}, "F-BAG": {"F-BAG-1": ("磨砂黑",)}}
    assert got.products == {"F-SEED": ("黑",)}
    assert got.product_ids() == ["F-BAG", "F-CUP", "F-SEED"]


def test_sizes_match_exactly_and_every_facet_must_hold(search):
    assert search.facet_matches([Facet("size", ("L",))]).variants == {"F-TEE": {"F-TEE-L": ("L",)}}
    assert search.facet_matches([Facet("size", ("l",))]).products == {"F-SEED": ("L",)}  # normalised case
    both = search.facet_matches([Facet("color", ("湖水蓝",)), Facet(None, ("750ML",))])
    assert both.variants == {"F-CUP": {"F-CUP-B": ("湖水蓝", "750ml")}} and both.products == {}
    # Alternatives of one facet: either value satisfies it.
    either = search.facet_matches([Facet("color", ("红", "白"))])
    assert set(either.variants) == {"F-TEE"} and either.products == {"F-SEED": ("红",)}
    assert search.facet_matches([Facet("color", ("紫色",))]).product_ids() == []
    assert search.facet_matches([]).product_ids() == []


@pytest.mark.parametrize("query,index", [(q.Q_FACET_VARIANTS, "AttrValue(value_norm)"),
                                         (q.Q_FACET_PRODUCTS, "AttrValue(value_norm)")])
def test_facet_queries_start_from_the_value_indexes(search, graph_db, settings, query, index):
    params = {"facets": [{"keys": ["color", "颜色"]}], "exact": [{"facet": 0, "value": "l"}],
              "partial": [{"facet": 0, "value": "黑"}]}
    plan = graph_db.execute_query("EXPLAIN " + query, params, database_=settings.neo4j_database).summary.plan
    ops = []

    def walk(p):
        ops.append((p["operatorType"].split("@")[0], p.get("args", {}).get("Details", "")))
        for child in p.get("children", []):
            walk(child)

    walk(plan)
    index_ops = [op for op, d in ops if "Index" in op and index in d]
    assert any("Seek" in op for op in index_ops), ops              # exact value: range index seek
    assert any("Contains" in op for op in index_ops), ops          # part of a value: TEXT index
    assert not any(op in ("NodeByLabelScan", "AllNodesScan") for op, _ in ops), ops


def test_a_category_word_also_finds_products_named_by_it_on_another_shelf(search):
    def ids(**kw):
        return [c.product.product_id for c in search.candidates(**kw)]

    assert ids(category="家居/杯具") == ["F-CUP"]
    # 保温杯 heads 儿童吸管保温杯 (shelved under kids' cups); it does not head 保温杯收纳袋.
    assert ids(category="家居/杯具", category_word="保温杯") == ["F-CUP", "F-KID"]
    assert ids(category="家居/杯具", category_word="保温杯", max_price=90) == ["F-KID"]
    assert ids(category="家居/杯具", category_word="杯") == ["F-CUP"]  # one character never widens
