"""Entity linking on the demo catalogue: exact, noisy, ambiguous, patterns, and via the real graph."""

from __future__ import annotations

import json

import pytest

from retrieval.entity_linking import EntityLinker
from retrieval.lexicon_records import LexiconSourceError, lexicon_from_records, load_products_lexicon
from schema.lexicon import CatalogLexicon
from schema.settings import PROJECT_ROOT

PRODUCTS = PROJECT_ROOT / "data" / "demo" / "products.jsonl"


def _products() -> list[dict]:
    return [json.loads(line) for line in PRODUCTS.open(encoding="utf-8") if line.strip()]


@pytest.fixture(scope="module")
def demo_lexicon() -> CatalogLexicon:
    return load_products_lexicon(PRODUCTS)


@pytest.fixture(scope="module")
def linker(demo_lexicon, tmp_path_factory) -> EntityLinker:
    el = EntityLinker(demo_lexicon, dict_root=tmp_path_factory.mktemp("lexicon"))
    el.warm_up()
    return el


def _pairs(links):
    return [(x.type, x.value) for x in links]


def test_lexicon_from_records_follows_the_entry_conventions(demo_lexicon):
    by = {(e.surface, e.type): e for e in demo_lexicon.entries}
    assert by[("星耀 X15 Pro", "product")].value == "P1201"
    assert by[("x15pro", "product")].source == "alias"
    assert by[("连衣裙", "category")].value == "服装/女装/连衣裙"
    assert "P1201" in by[("星耀", "brand")].product_ids
    assert by[("256GB", "attribute")].attribute == "storage"
    assert by[("红", "color")].product_ids == ("P1001",)  # seed-style option lists count
    assert demo_lexicon.version.startswith("file:")


def test_bad_record_is_named():
    with pytest.raises(LexiconSourceError, match="product record 2"):
        lexicon_from_records([{"product_id": "P1"}, {"product_id": "P 2"}])


def test_exact_product_attribute_colour(linker):
    links = linker.link("我要星耀X15 Pro 256g 远峰蓝有货吗")
    assert _pairs(links) == [("product", "P1201"), ("attribute", "256GB"), ("color", "远峰蓝")]
    assert links[0].text == "星耀X15 Pro" and links[0].score == 1.0
    assert links[1].text == "256g"


@pytest.mark.parametrize("text", ["iphone风格的X15PRO", "ｘ１５ｐｒｏ有吗", "x15 pro有吗", "X15 PRO"])
def test_model_numbers_in_any_case_width_and_spacing(linker, text):
    assert ("product", "P1201") in _pairs(linker.link(text))


def test_pinyin_and_homophone_typos(linker):
    assert _pairs(linker.link("星曜x15多少钱")) == [("product", "P1202")]
    assert _pairs(linker.link("xingyao x15pro多少钱")) == [("product", "P1201")]
    link = linker.link("想要个连衣群")[0]
    assert (link.type, link.value, link.text) == ("category", "服装/女装/连衣裙", "连衣群")
    assert link.score < 1.0


def test_fuzzy_typo_in_a_model_number(linker):
    link = linker.link("星耀X15Por多少钱")[0]
    assert (link.type, link.value) == ("product", "P1201")
    assert 0.8 < link.score < 1.0


def test_shared_alias_gives_one_link_with_candidates(linker):
    link = linker.link("茶歇裙还有吗")[0]
    assert link.type == "product"
    assert {link.value, *link.candidates} == {"P1003", "P1010"}
    assert link.value not in link.candidates


def test_brand_in_the_message_resolves_the_ambiguity(linker, demo_lexicon):
    brand_of = {e.value: set(e.product_ids) for e in demo_lexicon.of_type("brand")}
    alias_ids = {"P1003", "P1010"}
    for brand, ids in brand_of.items():
        if len(ids & alias_ids) == 1:
            link = [x for x in linker.link(f"{brand}的茶歇裙有货吗") if x.type == "product"][0]
            assert (link.value, link.candidates) == ((ids & alias_ids).pop(), ())
            break
    else:
        pytest.fail("no brand owns exactly one of the two dresses")


def test_colloquial_sizes_and_colours(linker):
    assert _pairs(linker.link("碎花裙加大号有吗")) == [("product", "P1002"), ("size", "XL")]
    assert _pairs(linker.link("37码的运动鞋")) == [("size", "37"), ("category", "鞋靴/运动鞋")]
    assert ("color", "酒红色") in _pairs(linker.link("有没有酒红的"))
    # the seed record stores a bare 红; shoppers write 红色 or 红的
    assert _pairs(linker.link("红色的有吗")) == [("color", "红")]
    assert _pairs(linker.link("要红的")) == [("color", "红")]


def test_colour_spellings_of_one_colour_are_candidates(tmp_path):
    lexicon = lexicon_from_records([
        {"product_id": "P1", "attributes": {"color": ["红"]}},
        {"product_id": "P2", "name": "云裳 连衣裙", "brand": "云裳", "category": "服装/女装/连衣裙",
         "variants": [{"sku": "P2-R", "attributes": {"color": "红色"}, "stock": 1}]}])
    link = EntityLinker(lexicon, dict_root=tmp_path).link("红色有吗")[0]
    assert (link.type, link.value, link.candidates) == ("color", "红色", ("红",))


def test_orders_and_phones_by_pattern(linker):
    links = linker.link("手机号13812345678 订单2026 1001 7350 5619 尾号5678")
    assert _pairs(links) == [("phone", "13812345678"), ("order_id", "2026100173505619"),
                             ("phone_last4", "5678")]


@pytest.mark.parametrize("text", ["怎么退货", "我平时穿多大码", "时光不等人", "手机号多少", "什么破服务", "在吗"])
def test_messages_without_entities(linker, text):
    assert [x for x in linker.link(text) if x.type not in ("category",)] == []
    assert ("category", "手机数码/手机") not in _pairs(linker.link(text))


def test_user_dictionary_is_written_per_lexicon(linker, demo_lexicon):
    files = list(linker.dict_root.glob("*/userdict.txt"))
    assert len(files) == 1 and files[0].parent.name.startswith(demo_lexicon.version.replace(":", "_"))
    words = {line.split()[0] for line in files[0].read_text(encoding="utf-8").splitlines()}
    assert {"碎花裙", "星耀", "远峰蓝", "加大号"} <= words


def test_rebuild_switches_lexicon(tmp_path):
    small = lexicon_from_records([{"product_id": "P1", "name": "青禾 速干T恤", "brand": "青禾",
                                   "category": "服装/男装/T恤", "aliases": ["速干衣"]}], version="7")
    el = EntityLinker(small, dict_root=tmp_path)
    assert _pairs(el.link("速干衣有吗")) == [("product", "P1")]
    bigger = lexicon_from_records([{"product_id": "P2", "name": "青禾 冰感T恤", "brand": "青禾",
                                    "category": "服装/男装/T恤", "aliases": ["冰感衣"]}], version="8")
    el.rebuild(bigger)
    assert el.version == "8"
    assert _pairs(el.link("冰感衣有吗")) == [("product", "P2")]
    assert _pairs(el.link("速干衣有吗")) == []


def test_linker_through_the_real_graph(graph_db, settings, tmp_path):
    from graph.knowledge import GraphKnowledge
    from ingest.loader import Loader

    wanted = {"P1001", "P1003", "P1010", "P1201", "P1202"}
    rows = [{k: v for k, v in p.items() if k != "policies"} for p in _products() if p["product_id"] in wanted]
    store = tmp_path / "products.jsonl"
    store.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    Loader(graph_db, settings.neo4j_database, phone_salt=settings.phone_hash_salt.get_secret_value(),
           show_progress=False).load([store])

    lexicon = GraphKnowledge(graph_db, settings.neo4j_database).catalog_lexicon()
    from_files = lexicon_from_records(rows)
    assert set(lexicon.entries) == set(from_files.entries)  # the two builders agree entry for entry
    assert lexicon.version == "1"

    el = EntityLinker(lexicon, dict_root=tmp_path / "lexicon")
    assert _pairs(el.link("星曜 x15 pro 冰川白 512g还有吗")) == [
        ("product", "P1201"), ("color", "冰川白"), ("attribute", "512GB")]
    link = el.link("茶歇群还有吗")[0]  # homophone typo of a shared alias
    assert link.type == "product" and {link.value, *link.candidates} == {"P1003", "P1010"}
    assert list((tmp_path / "lexicon").glob("1-*/userdict.txt"))


def test_old_user_dictionaries_are_pruned(tmp_path):
    import os

    from retrieval.entity_index import SurfaceIndex, write_userdict

    paths = []
    for n in range(5):
        lexicon = lexicon_from_records([{"product_id": f"P{n}", "name": f"青禾 款式{n}号", "brand": "青禾"}],
                                       version=str(n))
        paths.append(write_userdict(SurfaceIndex(lexicon), tmp_path, keep=3))
        os.utime(paths[-1], (n, 1_000_000 + n))  # distinct, increasing mtimes
    left = sorted(p.parent.name.split("-")[0] for p in tmp_path.glob("*/userdict.txt"))
    assert left == ["2", "3", "4"]
    lines = paths[-1].read_text(encoding="utf-8").splitlines()
    assert lines == ["款式4号 3000", "青禾 3000", "青禾款式4号 3000"]


def test_an_alias_ending_in_a_number_matches_before_its_unit(tmp_path):
    lexicon = lexicon_from_records([
        {"product_id": "Q1", "name": "溪谷 随手杯 400ml", "brand": "溪谷", "aliases": ["溪谷400"]},
        {"product_id": "Q2", "name": "溪谷 大肚杯 900ml", "brand": "溪谷", "aliases": ["溪谷900"]},
        {"product_id": "Q3", "name": "溪谷 X15", "brand": "溪谷", "aliases": ["x15"]},
    ])
    el = EntityLinker(lexicon, dict_root=tmp_path)
    assert [(x.type, x.value) for x in el.link("溪谷400ml还有吗") if x.type == "product"] == [("product", "Q1")]
    assert not [x for x in el.link("x15pro有吗") if x.type == "product" and x.text.lower() == "x15"]
