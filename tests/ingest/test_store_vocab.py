"""A store's own files load: attribute names in any language, status and column maps, dates.

Every store here is generated in the test (never a customer's data).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from graph.knowledge import GraphKnowledge
from ingest.errors import InputError, ValidationFailed
from ingest.loader import Loader
from ingest.vocab import StoreVocabulary
from retrieval.lexicon_records import lexicon_from_records
from tests.ingest.store import run_cli, snapshot, write_jsonl

CST = timezone(timedelta(hours=8))

# A made-up shop whose options are named in Chinese, one product in English keys.
SHOP_PRODUCTS = [
    {"product_id": "T-CUP", "name": "测试保温杯", "brand": "测牌", "category": "家居/杯具/保温杯", "price": 99,
     "variants": [
         {"sku": "T-CUP-A", "attributes": {"颜色": "湖水蓝", "容量": "500ml"}, "stock": 4, "price": 99},
         {"sku": "T-CUP-B", "attributes": {"颜色": "松石绿", "容量": "500ml"}, "stock": 0, "price": 99},
         {"sku": "T-CUP-C", "attributes": {"颜色": "湖水蓝", "容量": "750ml"}, "stock": 7, "price": 119},
     ]},
    {"product_id": "T-MAT", "name": "测试脚垫", "category": "汽车/内饰/脚垫", "price": 199,
     "variants": [{"sku": "T-MAT-1", "attributes": {"适用车型": "甲型车 2024款", "规格": "全包围"}, "stock": 3}]},
    {"product_id": "T-TEE", "name": "测试T恤", "price": 59,
     "variants": [{"sku": "T-TEE-M", "attributes": {"color": "湖水蓝", "size": "M"}, "stock": 2}]},
    {"product_id": "T-SEED", "attributes": {"颜色": ["红", "黑"], "尺寸": ["S", "M"], "stock": 42}},
]


def _loader(graph_db, db, salt, tmp_path, vocab=None) -> Loader:
    return Loader(graph_db, db, phone_salt=salt, batch_size=2, reports_dir=tmp_path / "reports",
                  show_progress=False, **({"vocab": vocab} if vocab else {}))


def test_chinese_attribute_names_load_as_written_and_match_like_english(graph_db, db, salt, tmp_path):
    path = write_jsonl(tmp_path / "products.jsonl", SHOP_PRODUCTS)
    _loader(graph_db, db, salt, tmp_path).load([path])
    kg = GraphKnowledge(graph_db, db)
    cup = kg.variants("T-CUP")
    assert [v.attributes for v in cup][0] == {"颜色": "湖水蓝", "容量": "500ml"}  # exactly as written
    # 颜色 and color are one option: a filter by either name finds the Chinese-keyed variants.
    assert [v.sku for v in kg.variants("T-CUP", color="湖水蓝")] == ["T-CUP-A", "T-CUP-C"]
    assert [v.sku for v in kg.variants("T-CUP", 颜色="湖水蓝", 容量="750ML")] == ["T-CUP-C"]
    assert [v.sku for v in kg.variants("T-CUP", storage="500ml")] == ["T-CUP-A", "T-CUP-B"]
    assert [v.sku for v in kg.variants("T-MAT", 适用车型="甲型车2024款")] == ["T-MAT-1"]
    assert [v.sku for v in kg.variants("T-TEE", 颜色="湖水蓝")] == ["T-TEE-M"]
    assert kg.in_stock_values("T-CUP", "color") == ["湖水蓝"]
    assert kg.in_stock_values("T-SEED", "颜色") == ["红", "黑"] == kg.in_stock_values("T-SEED", "color")
    assert kg.product("T-SEED").options == {"颜色": ("红", "黑"), "尺寸": ("S", "M")}
    # Facet nodes: one per normalised (name, value), shared across products and counted by relationship.
    facets, _, _ = graph_db.execute_query(
        "MATCH (a:AttrValue {key_norm: '颜色', value_norm: '湖水蓝'})<-[:HAS_VALUE]-(v:Variant) "
        "RETURN a.key AS key, a.value AS value, count(v) AS n", database_=db)
    assert [(r["key"], r["value"], r["n"]) for r in facets] == [("颜色", "湖水蓝", 2)]
    seed, _, _ = graph_db.execute_query(
        "MATCH (:Product {product_id: 'T-SEED'})-[:HAS_OPTION]->(a:AttrValue) RETURN count(a) AS n", database_=db)
    assert seed[0]["n"] == 4
    # The linker's lexicon types 颜色/尺寸 values as colours/sizes, from the graph and from records alike.
    for lexicon in (kg.catalog_lexicon(), lexicon_from_records(SHOP_PRODUCTS)):
        types = {(e.surface, e.type, e.attribute) for e in lexicon.entries if e.source == "attribute"}
        assert {("湖水蓝", "color", "颜色"), ("湖水蓝", "color", "color"), ("S", "size", "尺寸"),
                ("750ml", "attribute", "容量"), ("甲型车 2024款", "attribute", "适用车型")} <= types


def test_facet_values_follow_updates(graph_db, db, salt, tmp_path):
    loader = _loader(graph_db, db, salt, tmp_path)
    loader.load([write_jsonl(tmp_path / "products.jsonl", SHOP_PRODUCTS)])
    changed = json.loads(json.dumps(SHOP_PRODUCTS))
    changed[1]["variants"][0]["attributes"]["规格"] = "半包围"
    loader.load([write_jsonl(tmp_path / "products.jsonl", changed)])
    values, _, _ = graph_db.execute_query(
        "MATCH (a:AttrValue {key_norm: '规格'}) RETURN collect(a.value) AS v", database_=db)
    assert values[0]["v"] == ["半包围"]  # the old value's node is gone with its last variant


@pytest.mark.parametrize("attributes,field,reason", [
    ({"库存": "10"}, "variants[0].attributes.库存", "would shadow the field 'stock'"),
    ({"ＳＫＵ": "x"}, "variants[0].attributes.ＳＫＵ", "would shadow the field 'sku'"),  # full-width, NFKC
    ({"Price": "1"}, "variants[0].attributes.Price", "would shadow the field 'price'"),  # case folded
    ({"售价": "1"}, "variants[0].attributes.售价", "would shadow the field 'price'"),
    ({"Color": "红", "color": "黑"}, "variants[0].attributes", "same name once normalised"),
    ({"颜 色": "红"}, "variants[0].attributes.颜 色", "letters, digits or _"),
])
def test_attribute_names_colliding_with_reserved_are_errors(graph_db, db, salt, tmp_path, attributes, field,
                                                            reason):
    rows = [{"product_id": "T-1", "variants": [{"sku": "T-1-A", "attributes": attributes, "stock": 1}]}]
    before = snapshot(graph_db, db)
    with pytest.raises(ValidationFailed) as info:
        _loader(graph_db, db, salt, tmp_path).load([write_jsonl(tmp_path / "products.jsonl", rows)])
    issue = info.value.issues[0]
    assert (issue.line, issue.field) == (1, field) and reason in issue.reason, issue
    assert str(issue).startswith(f"{issue.file}:1 {field}: ")
    assert snapshot(graph_db, db) == before


def test_seed_option_named_like_a_reserved_field_is_an_error(graph_db, db, salt, tmp_path):
    rows = [{"product_id": "T-2", "attributes": {"颜色": ["红"], "库存": ["1"], "stock": 3}}]
    with pytest.raises(ValidationFailed) as info:
        _loader(graph_db, db, salt, tmp_path).load([write_jsonl(tmp_path / "products.jsonl", rows)])
    assert "attribute name '库存' is reserved" in str(info.value.issues[0])
    assert snapshot(graph_db, db) == {"nodes": [], "rels": []}


def test_bare_policy_dates_are_china_days_and_the_end_is_inclusive(graph_db, db, salt, tmp_path):
    rows = [{"policy_id": "POL-T", "title": "测试活动", "clauses": ["活动条款"],
             "effective_from": "2027-01-10", "effective_to": "2027-01-20"}]
    _loader(graph_db, db, salt, tmp_path).load([write_jsonl(tmp_path / "policies.jsonl", rows)])
    kg = GraphKnowledge(graph_db, db)

    def in_force(*args: int) -> bool:
        return bool(kg.clauses_in_force(at=datetime(*args, tzinfo=CST)))

    assert not in_force(2027, 1, 9, 23, 59)
    assert in_force(2027, 1, 10, 0, 0)
    assert in_force(2027, 1, 20, 23, 59, 59)  # the last day counts in full
    assert not in_force(2027, 1, 21, 0, 0)
    stored, _, _ = graph_db.execute_query("MATCH (p:Policy) RETURN p.effective_to AS end", database_=db)
    assert stored[0]["end"].to_native() == datetime(2027, 1, 21, tzinfo=CST)


# --- status map -------------------------------------------------------------------------
ORDER = {"order_id": "2701101530001234", "phone": "13800000417", "items": [{"sku": "T-CUP-A", "qty": 1}],
         "created_at": "2027-01-10 15:30:00", "paid_at": "2027-01-10 15:31:02"}


def _order_store(tmp_path: Path, *statuses: str) -> Path:
    store = tmp_path / "shop"
    store.mkdir(exist_ok=True)
    write_jsonl(store / "products.jsonl", SHOP_PRODUCTS)
    write_jsonl(store / "orders.jsonl", [{**ORDER, "order_id": f"27011015300{n:05d}", "status": s}
                                         for n, s in enumerate(statuses)])
    return store


def test_status_map_maps_shop_words_and_naive_export_times_are_china_time(graph_db, db, salt, tmp_path):
    store = _order_store(tmp_path, "等待发货", "已发货")
    (tmp_path / "status.json").write_text(json.dumps({"等待发货": "已付款"}, ensure_ascii=False), encoding="utf-8")
    vocab = StoreVocabulary.from_files(status_map=tmp_path / "status.json")
    _loader(graph_db, db, salt, tmp_path, vocab).load([store])
    rows, _, _ = graph_db.execute_query("MATCH (o:Order) RETURN o.status AS s, o.created_at AS t ORDER BY o.order_id",
                                        database_=db)
    assert [r["s"] for r in rows] == ["已付款", "已发货"]
    assert rows[0]["t"].to_native() == datetime(2027, 1, 10, 15, 30, tzinfo=CST)


def test_unmapped_status_names_the_word_and_the_map(graph_db, db, salt, tmp_path):
    store = _order_store(tmp_path, "已发货", "卖家已发货待揽收")
    (tmp_path / "status.json").write_text(json.dumps({"等待发货": "已付款"}, ensure_ascii=False), encoding="utf-8")
    vocab = StoreVocabulary.from_files(status_map=tmp_path / "status.json")
    with pytest.raises(ValidationFailed) as info:
        _loader(graph_db, db, salt, tmp_path, vocab).load([store])
    (issue,) = info.value.issues
    assert issue.file.endswith("orders.jsonl") and (issue.line, issue.field) == (2, "status")
    assert "'卖家已发货待揽收'" in issue.reason and "status.json" in issue.reason and "add it to" in issue.reason
    assert snapshot(graph_db, db) == {"nodes": [], "rels": []}


def test_status_map_must_target_canonical_statuses(tmp_path):
    (tmp_path / "status.json").write_text(json.dumps({"交易成功": "完成"}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError, match="'完成', which is not a status"):
        StoreVocabulary.from_files(status_map=tmp_path / "status.json")


# --- column map ---------------------------------------------------------------------------
def _erp_stock(path: Path, header: str, rows: list[str]) -> Path:
    # An ERP export: UTF-8 with BOM, CRLF line ends.
    path.write_bytes(("\ufeff" + "\r\n".join([header, *rows]) + "\r\n").encode("utf-8"))
    return path


def test_column_map_reads_an_erp_stock_export_with_bom_and_crlf(graph_db, db, salt, tmp_path):
    loader_plain = _loader(graph_db, db, salt, tmp_path)
    loader_plain.load([write_jsonl(tmp_path / "products.jsonl", SHOP_PRODUCTS)])
    (tmp_path / "columns.json").write_text(json.dumps({"货品编号": "sku", "现存量": "stock", "仓库": None},
                                                      ensure_ascii=False), encoding="utf-8")
    vocab = StoreVocabulary.from_files(columns=tmp_path / "columns.json")
    # 商品名称 is not in the store's map: the general export vocabulary knows it as informational.
    stock = _erp_stock(tmp_path / "stock_erp.csv", "货品编号,商品名称,现存量,仓库",
                       ["T-CUP-B,保温杯 松石绿,12,杭州仓", "T-CUP-A,保温杯 湖水蓝,0,杭州仓"])
    loader = _loader(graph_db, db, salt, tmp_path, vocab)
    summary = loader.load([stock])
    assert summary.counts["variant"].updated == 2
    kg = GraphKnowledge(graph_db, db)
    assert {v.sku: v.stock for v in kg.variants("T-CUP")} == {"T-CUP-A": 0, "T-CUP-B": 12, "T-CUP-C": 7}
    # Absolute stock: the same export again changes nothing.
    again = loader.load([stock])
    assert again.counts["variant"].unchanged == 2 and again.counts["variant"].updated == 0


def test_unknown_column_names_the_header_and_the_map(graph_db, db, salt, tmp_path):
    (tmp_path / "columns.json").write_text(json.dumps({"货品编号": "sku", "现存量": "stock"}, ensure_ascii=False),
                                           encoding="utf-8")
    vocab = StoreVocabulary.from_files(columns=tmp_path / "columns.json")
    stock = _erp_stock(tmp_path / "stock_erp.csv", "货品编号,现存量,批次号", ["T-CUP-B,12,B7"])
    before = snapshot(graph_db, db)
    with pytest.raises(ValidationFailed) as info:
        _loader(graph_db, db, salt, tmp_path, vocab).load([stock])
    (issue,) = info.value.issues
    assert (issue.line, issue.field) == (1, "(header)")
    assert "unknown column '批次号'" in issue.reason and "columns.json" in issue.reason and "null" in issue.reason
    assert snapshot(graph_db, db) == before


def test_column_map_for_a_products_csv_with_chinese_headers(graph_db, db, salt, tmp_path):
    (tmp_path / "columns.json").write_text(json.dumps(
        {"products": {"款号": "product_id", "颜色": "attr_颜色", "尺寸": "attr_尺寸", "备注": "-"}},
        ensure_ascii=False), encoding="utf-8")
    vocab = StoreVocabulary.from_files(columns=tmp_path / "columns.json")
    csv_path = tmp_path / "products_export.csv"
    csv_path.write_bytes(("\ufeff款号,商品名称,售价,商品编码,颜色,尺寸,库存,备注\r\n"
                          "T-9,测试外套,299,T-9-R-M,红,M,5,新品\r\n"
                          "T-9,,,T-9-R-L,红,L,0,\r\n").encode("utf-8"))
    _loader(graph_db, db, salt, tmp_path, vocab).load([csv_path])
    kg = GraphKnowledge(graph_db, db)
    assert kg.product("T-9").name == "测试外套" and kg.product("T-9").price == 299.0
    assert [(v.sku, v.attributes, v.stock) for v in kg.variants("T-9", color="红")] == [
        ("T-9-R-L", {"颜色": "红", "尺寸": "L"}, 0), ("T-9-R-M", {"颜色": "红", "尺寸": "M"}, 5)]


def test_cli_load_with_maps_then_unchanged_reload(settings, graph_db, tmp_path):
    store = _order_store(tmp_path, "等待发货")
    _erp_stock(store / "stock_erp.csv", "货品编号,商品名称,现存量", ["T-CUP-B,保温杯,9"])
    (tmp_path / "status.json").write_text(json.dumps({"等待发货": "已付款"}, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "columns.json").write_text(json.dumps({"货品编号": "sku", "现存量": "stock"}, ensure_ascii=False),
                                           encoding="utf-8")
    args = ("load", str(store), "--status-map", str(tmp_path / "status.json"),
            "--columns", str(tmp_path / "columns.json"))
    first = run_cli(settings, *args)
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)["counts"]
    assert counts["product"]["created"] == 4 and counts["order"]["created"] == 1
    second = run_cli(settings, *args)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert all(c["created"] == c["updated"] == 0 for c in again["counts"].values()), again
    assert again["knowledge_version"] == json.loads(first.stdout)["knowledge_version"]
    bad = run_cli(settings, "load", str(store))  # without the status map
    assert bad.returncode == 1 and "unknown order status '等待发货'" in bad.stderr
    assert "nothing was written" in bad.stderr


# --- order keys ---------------------------------------------------------------------------
def test_order_export_keys_map_to_order_fields_and_the_buyer_account_is_kept(graph_db, db, salt, tmp_path):
    store = tmp_path / "shop"
    store.mkdir()
    write_jsonl(store / "products.jsonl", SHOP_PRODUCTS)
    own = {k: v for k, v in ORDER.items() if k != "order_id"}
    write_jsonl(store / "orders.jsonl", [
        {**own, "order_id": "2701101530000001", "status": "已付款", "用户标识": "buyer-a", "渠道": "app"},
        {**own, "order_id": "2701101530000002", "status": "已付款", "买家ID": "buyer-b"},  # general ERP name
        {**own, "order_id": "2701101530000003", "status": "已付款"},                       # no account at all
    ])
    (tmp_path / "columns.json").write_text(json.dumps({"orders": {"用户标识": "user_id", "渠道": None}},
                                                      ensure_ascii=False), encoding="utf-8")
    vocab = StoreVocabulary.from_files(columns=tmp_path / "columns.json")
    _loader(graph_db, db, salt, tmp_path, vocab).load([store])
    rows, _, _ = graph_db.execute_query("MATCH (o:Order) RETURN o.order_id AS id, o.user_id AS user, "
                                        "keys(o) AS keys ORDER BY id", database_=db)
    assert [(r["id"][-1], r["user"]) for r in rows] == [("1", "buyer-a"), ("2", "buyer-b"), ("3", None)]
    assert not any("渠道" in r["keys"] for r in rows)  # an ignored key is read, never stored


def test_unknown_order_key_names_the_key_and_the_orders_map(graph_db, db, salt, tmp_path):
    store = _order_store(tmp_path, "已付款")
    rows = [json.loads(line) for line in (store / "orders.jsonl").read_text(encoding="utf-8").splitlines()]
    write_jsonl(store / "orders.jsonl", [{**rows[0], "下单渠道编码": "x1"}])
    with pytest.raises(ValidationFailed) as info:
        _loader(graph_db, db, salt, tmp_path).load([store])
    (issue,) = info.value.issues
    assert (issue.line, issue.field) == (1, "下单渠道编码")
    assert "unknown order field" in issue.reason and '"orders"' in issue.reason and "user_id" in issue.reason
    assert snapshot(graph_db, db) == {"nodes": [], "rels": []}
