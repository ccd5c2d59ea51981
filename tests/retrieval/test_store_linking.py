"""Linking that adapts to each store: its id scheme, its colour names, its minimal products.

The store is generated here (not the demo store's ``P1234`` ids or colour
names) and loaded into the real Neo4j; the linker is built from the graph's
lexicon exactly as the service builds it.
"""

from __future__ import annotations

import json

import pytest

from retrieval.entity_ids import id_schemes
from retrieval.entity_linking import SCHEME_ID_SCORE, EntityLinker

# An id scheme unlike the demo's: two letter runs, separators, digits.
STORE = [
    {"product_id": "KT-LM-101", "name": "远山 真空保温壶", "brand": "远山", "category": "家居/杯壶/保温壶",
     "price": 129.0, "variants": [
         {"sku": "KT-LM-101-G", "price": 129.0, "stock": 4, "attributes": {"color": "月岩灰"}},
         {"sku": "KT-LM-101-B", "price": 129.0, "stock": 6, "attributes": {"color": "湖水蓝"}},
         {"sku": "KT-LM-101-W", "price": 139.0, "stock": 0, "attributes": {"color": "奶油白"}}]},
    {"product_id": "KT-LM-102", "name": "远山 随行杯", "brand": "远山", "category": "家居/杯壶/随行杯",
     "price": 69.0, "variants": [
         {"sku": "KT-LM-102-S", "price": 69.0, "stock": 3, "attributes": {"color": "星砂银灰", "size": "350ml"}},
         {"sku": "KT-LM-102-L", "price": 79.0, "stock": 2, "attributes": {"color": "星砂银灰", "size": "500ml"}}]},
    {"product_id": "KT-QR-207", "name": "青木 折叠凳", "brand": "青木", "category": "家居/户外/折叠凳",
     "price": 45.0, "variants": [
         {"sku": "KT-QR-207-K", "price": 45.0, "stock": 9, "attributes": {"color": "岩石黑"}}]},
    {"product_id": "KT-QR-208", "name": "青木 防风外套", "brand": "青木", "category": "服装/户外/外套",
     "price": 199.0, "variants": [
         {"sku": f"KT-QR-208-{s}", "price": 199.0, "stock": 5, "attributes": {"color": "岩石黑", "size": f"{s}码"}}
         for s in ("M", "L", "XL")]},
    # A minimal product: an id and option lists, nothing else.
    {"product_id": "KT-QR-300", "attributes": {"color": ["森林绿", "岩石黑"], "size": ["S", "M"], "stock": 20}},
]


@pytest.fixture()
def store_linker(graph_db, settings, tmp_path) -> EntityLinker:
    from graph.knowledge import GraphKnowledge
    from ingest.loader import Loader

    path = tmp_path / "products.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in STORE), encoding="utf-8")
    Loader(graph_db, settings.neo4j_database, phone_salt=settings.phone_hash_salt.get_secret_value(),
           show_progress=False).load([path])
    lexicon = GraphKnowledge(graph_db, settings.neo4j_database).catalog_lexicon()
    linker = EntityLinker(lexicon, dict_root=tmp_path / "lexicon")
    linker.warm_up()
    return linker


def _products(links):
    return [(x.value, x.score) for x in links if x.type == "product"]


def test_store_ids_in_any_case_and_without_separators(store_linker):
    for text in ("KT-LM-101还有货吗", "kt-lm-101 还有货吗", "Kt-Lm-101有吗", "ktlm101有吗", "问下KT-QR-207"):
        found = _products(store_linker.link(text))
        assert len(found) == 1 and found[0][1] == 1.0, text
        assert found[0][0] in {"KT-LM-101", "KT-QR-207"}
    # one character off is another id, never a fuzzy match of a sibling
    assert _products(store_linker.link("kt-lm-109有吗")) == [("KT-LM-109", SCHEME_ID_SCORE)]
    # the demo's id scheme means nothing in this store
    assert _products(store_linker.link("P1002有吗")) == []


def test_minimal_product_is_linked_by_id(store_linker):
    links = store_linker.link("kt-qr-300 森林绿的M码还有吗")
    assert [(x.type, x.value) for x in links] == [
        ("product", "KT-QR-300"), ("color", "森林绿"), ("size", "M")]


@pytest.mark.parametrize(("text", "family"), [
    ("灰色的还有吗", {"月岩灰", "星砂银灰"}),
    ("蓝色的有吗", {"湖水蓝"}),
    ("蓝的呢", {"湖水蓝"}),
    ("白的多少钱", {"奶油白"}),
    ("绿的还有吗", {"森林绿"}),
])
def test_colour_words_reach_the_store_own_colour_names(store_linker, text, family):
    colours = [x for x in store_linker.link(text) if x.type == "color"]
    assert len(colours) == 1, text
    assert {colours[0].value, *colours[0].candidates} == family


@pytest.mark.parametrize(("text", "size"), [("大号的还有吗", "L码"), ("xl有吗", "XL码"), ("加大号呢", "XL码"),
                                           ("M码还有吗", "M码")])
def test_size_words_reach_the_store_own_size_values(store_linker, text, size):
    sizes = [x.value for x in store_linker.link(text) if x.type == "size"]
    assert sizes == [size], text


def test_product_resolution_finds_its_only_grey(store_linker):
    """The colour link carries the whole family: each product keeps the member it has."""
    from retrieval.variant_match import match_values

    link = next(x for x in store_linker.link("KT-LM-102 灰色的还有吗") if x.type == "color")
    own = {"KT-LM-101": ["月岩灰", "湖水蓝", "奶油白"], "KT-LM-102": ["星砂银灰"]}
    for pid, values in own.items():
        choices = (link.value, *link.candidates)
        assert next(c for c in choices if c in values) == match_values(link.text, values)[0].value, pid


@pytest.mark.parametrize(("text", "product"), [
    ("远山500ml的还有吗", "KT-LM-102"), ("远山湖水蓝有货吗", "KT-LM-101"), ("远山350ml星砂银灰多少钱", "KT-LM-102"),
])
def test_a_brand_and_values_only_one_of_its_products_has_name_it(store_linker, text, product):
    assert [v for v, _ in _products(store_linker.link(text))] == [product]


@pytest.mark.parametrize("text", ["远山有什么颜色", "青木岩石黑的有吗"])
def test_a_brand_alone_or_with_values_all_its_products_have_stays_a_brand(store_linker, text):
    links = store_linker.link(text)
    assert not _products(links)
    assert [x.value for x in links if x.type == "brand"] in (["远山"], ["青木"])


def test_id_schemes_are_derived_from_the_loaded_ids():
    schemes = id_schemes(["SKU_88012", "SKU_88013", "mx-2231", "mx-2232", "100234"])
    assert len(schemes) == 2  # digit-only ids get exact matching only
    sku = next(s for s in schemes if s.upper)
    m = sku.pattern.search("sku88099 有吗")
    assert m and sku.canonical(m) == "SKU_88099"
    mx = next(s for s in schemes if not s.upper)
    m = mx.pattern.search("MX-9999还有吗")
    assert m and mx.canonical(m) == "mx-9999"


# A family store: one category whose products differ by the amount they state, and a
# category whose only product is named with a distinctive part of one of its values.
FAMILY_STORE = [
    {"product_id": "NT-01", "name": "山禾 纸皮核桃", "brand": "山禾", "category": "食品/坚果/核桃", "price": 39.0,
     "aliases": ["核桃"], "variants": [
         {"sku": "NT-01-S", "price": 39.0, "stock": 12, "attributes": {"规格": "250g"}},
         {"sku": "NT-01-L", "price": 69.0, "stock": 0, "attributes": {"规格": "500g（250g×2袋）"}}]},
    {"product_id": "NT-02", "name": "山禾 核桃仁礼盒", "brand": "山禾", "category": "食品/坚果/核桃", "price": 88.0,
     "variants": [{"sku": "NT-02-1", "price": 88.0, "stock": 5, "attributes": {"规格": "礼盒装300g"}}]},
    {"product_id": "WC-01", "name": "行者 真皮方向盘套", "brand": "行者", "category": "汽车用品/内饰/方向盘套",
     "price": 99.0, "variants": [
         {"sku": "WC-01-A", "price": 99.0, "stock": 4, "attributes": {"适用车型": "大众帕萨特B8"}},
         {"sku": "WC-01-B", "price": 99.0, "stock": 6, "attributes": {"适用车型": "别克君越 2019款"}}]},
    {"product_id": "WC-02", "name": "行者 防滑汽车脚垫", "brand": "行者", "category": "汽车用品/内饰/脚垫",
     "price": 199.0, "variants": [
         {"sku": "WC-02-A", "price": 199.0, "stock": 2, "attributes": {"适用车型": "别克君越 2019款"}}]},
]


@pytest.fixture()
def family_linker(graph_db, settings, tmp_path) -> EntityLinker:
    from graph.knowledge import GraphKnowledge
    from ingest.loader import Loader

    path = tmp_path / "products.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in FAMILY_STORE), encoding="utf-8")
    Loader(graph_db, settings.neo4j_database, phone_salt=settings.phone_hash_salt.get_secret_value(),
           show_progress=False).load([path])
    linker = EntityLinker(GraphKnowledge(graph_db, settings.neo4j_database).catalog_lexicon(),
                          dict_root=tmp_path / "lexicon")
    linker.warm_up()
    return linker


@pytest.mark.parametrize(("text", "product", "value"), [
    ("核桃半斤装有货吗", "NT-01", "250g"), ("核桃一斤的多少钱", "NT-01", "500g（250g×2袋）"),
    ("核桃六两装的还有吗", "NT-02", "礼盒装300g"),
])
def test_a_quantity_in_chinese_units_names_the_value_and_the_product(family_linker, text, product, value):
    links = family_linker.link(text)
    assert [x.value for x in links if x.type == "product"] == [product], links
    assert value in [x.value for x in links if x.type == "attribute"], links


def test_a_quantity_no_value_states_links_nothing(family_linker):
    links = family_linker.link("核桃三斤的有吗")
    assert not [x for x in links if x.type == "attribute"]
    assert not [x for x in links if x.type == "product" and not x.candidates]


def test_a_category_and_a_part_of_a_value_name_the_product_that_offers_it(family_linker):
    links = family_linker.link("君越的方向盘套还有吗")
    assert [(x.value, x.candidates) for x in links if x.type == "product"] == [("WC-01", ())], links


def test_a_part_of_a_value_two_categories_offer_is_not_guessed(family_linker):
    links = family_linker.link("行者君越的还有吗")  # the brand's cover and mat both fit it
    assert not [x for x in links if x.type == "product" and not x.candidates], links
