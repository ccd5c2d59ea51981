"""The graph read API (GraphKnowledge) and order lookup, on a small loaded store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graph.knowledge import GraphKnowledge, knowledge_version
from graph.orders import GraphOrderService
from graph.queries import knowledge as q
from ingest.loader import Loader
from schema.services import KnowledgeSource, OrderService
from tests.ingest.store import POLICIES, write_store

EXTRA_POLICIES = [
    # Applies to all of 服装 except one product and one brand.
    {"policy_id": "POL-WASH", "title": "洗护说明", "clauses": ["机洗请用洗衣袋"],
     "applies_to": {"categories": ["服装"]}, "excludes": {"products": ["P2001"], "brands": ["星耀"]},
     "effective_from": "2024-01-01"},
    # A window in the past.
    {"policy_id": "POL-618", "title": "618 价保", "clauses": ["618 期间保价"],
     "applies_to": {"categories": ["服装", "数码"]}, "effective_from": "2024-06-01",
     "effective_to": "2024-06-20"},
]
NOW = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture()
def knowledge(graph_db, settings, tmp_path):
    store = write_store(tmp_path / "store", policies=POLICIES + EXTRA_POLICIES)
    Loader(graph_db, settings.neo4j_database, phone_salt=settings.phone_hash_salt.get_secret_value(),
           show_progress=False).load([store])
    return GraphKnowledge(graph_db, settings.neo4j_database)


def _ids(clauses):
    return sorted({c.policy_id for c in clauses})


def test_products_and_variants(knowledge):
    assert isinstance(knowledge, KnowledgeSource)
    p = knowledge.product("P2001")
    assert (p.name, p.brand, p.category, p.price) == ("法式碎花连衣裙", "棉语", "服装/女装/连衣裙", 299.0)
    assert p.aliases == ("碎花裙", "法式连衣裙") and p.display_name == "法式碎花连衣裙"
    assert knowledge.product("nope") is None
    assert [x.product_id for x in knowledge.products(["P4001", "nope", "P1001", "P4001"])] == ["P4001", "P1001"]
    assert [v.sku for v in knowledge.variants("P2001")] == ["P2001-BLU-M", "P2001-RED-L", "P2001-RED-M"]
    red = knowledge.variants("P2001", color="红色")
    assert [(v.sku, v.stock) for v in red] == [("P2001-RED-L", 0), ("P2001-RED-M", 5)]
    assert [v.sku for v in knowledge.variants("P2001", color="红色", size="M")] == ["P2001-RED-M"]
    assert [v.sku for v in knowledge.variants("P2001", size="M")] == ["P2001-BLU-M", "P2001-RED-M"]
    assert knowledge.variants("P2001", color="绿色") == []
    phone = knowledge.variants("P4001", storage="512GB")
    assert [(v.sku, v.price, v.attributes) for v in phone] == [
        ("P4001-WHT-512", 4499.0, {"color": "云母白", "storage": "512GB"})]
    # A variant without its own price shows the product's.
    assert knowledge.variants("P4001", color="曜石黑")[0].price == 3999.0


def test_in_stock_values(knowledge):
    assert knowledge.in_stock_values("P2001", "color") == ["蓝色", "红色"]
    assert knowledge.in_stock_values("P2001", "size") == ["M"]
    assert knowledge.in_stock_values("P4001", "storage") == ["256GB"]
    # Seed-style product: its option list while its total stock is positive.
    assert knowledge.in_stock_values("P1001", "color") == ["红", "蓝"]
    assert knowledge.in_stock_values("P1001", "material") == []
    assert knowledge.in_stock_values("nope", "color") == []


def test_cheapest(knowledge):
    assert knowledge.cheapest().product_id == "P3001"
    assert knowledge.cheapest("服装/女装").product_id == "P2001"
    assert knowledge.cheapest("服装/女") is None  # prefixes match whole path segments
    assert knowledge.cheapest("数码/").product_id == "P4001"
    assert knowledge.cheapest(product_ids=["P2001", "P4001"]).product_id == "P2001"
    assert knowledge.cheapest("数码", product_ids=["P2001", "P4001"]).product_id == "P4001"
    assert knowledge.cheapest("家电") is None


def test_cheapest_skips_sold_out(knowledge, graph_db, settings, tmp_path):
    stock = tmp_path / "stock_out.csv"
    stock.write_text("sku,stock\nP3001-BLK-75B,0\n", encoding="utf-8")
    Loader(graph_db, settings.neo4j_database, phone_salt="s", show_progress=False).load([stock])
    assert knowledge.cheapest().product_id == "P2001"
    assert knowledge.cheapest(in_stock_only=False).product_id == "P3001"


def test_clauses_in_force_follow_hierarchy_targets_exclusions_and_dates(knowledge):
    # Dress: 服装 (ancestor) policies, its own product policy, store-wide shipping; POL-WASH excludes it.
    assert _ids(knowledge.clauses_in_force("P2001", at=NOW)) == ["POL-DRESS", "POL-RETURN", "POL-SHIP"]
    # Bra: POL-RETURN excludes 服装/内衣, so 服装/内衣/文胸 is out; POL-WASH applies.
    assert _ids(knowledge.clauses_in_force("P3001", at=NOW)) == ["POL-SHIP", "POL-WASH"]
    # Phone: brand-targeted warranty; not a clothing product.
    assert _ids(knowledge.clauses_in_force("P4001", at=NOW)) == ["POL-SHIP", "POL-XINGYAO"]
    # Category only.
    assert _ids(knowledge.clauses_in_force(category="服装/女装", at=NOW)) == ["POL-RETURN", "POL-SHIP", "POL-WASH"]
    assert _ids(knowledge.clauses_in_force(category="服装/内衣/文胸", at=NOW)) == ["POL-SHIP", "POL-WASH"]
    assert _ids(knowledge.clauses_in_force(at=NOW)) == ["POL-SHIP"]
    # Time windows.
    in_618 = datetime(2024, 6, 10, tzinfo=UTC)
    assert "POL-618" in _ids(knowledge.clauses_in_force("P4001", at=in_618))
    assert "POL-DRESS" not in _ids(knowledge.clauses_in_force("P2001", at=datetime(2031, 1, 1, tzinfo=UTC)))
    assert knowledge.clauses_in_force("P2001", at=datetime(2023, 12, 31, tzinfo=UTC)) == []
    # Boundaries: bare dates are China-time days, both inclusive; the stored end is the next
    # day's 00:00+08:00, exclusive.
    start = datetime.fromisoformat("2024-06-01T00:00:00+08:00")
    last_day = datetime.fromisoformat("2024-06-20T23:59:59+08:00")
    end = datetime.fromisoformat("2024-06-21T00:00:00+08:00")
    assert "POL-618" in _ids(knowledge.clauses_in_force("P4001", at=start))
    assert "POL-618" in _ids(knowledge.clauses_in_force("P4001", at=last_day))
    assert "POL-618" not in _ids(knowledge.clauses_in_force("P4001", at=end))
    clauses = knowledge.clauses_in_force("P2001", at=NOW)
    ret = [c for c in clauses if c.policy_id == "POL-RETURN"]
    assert [(c.clause_id, c.order, c.policy_title) for c in ret] == [
        ("POL-RETURN#1", 1, "七天无理由退货"), ("POL-RETURN#2", 2, "七天无理由退货")]


def test_policy_faq_and_lists(knowledge):
    assert [c.text for c in knowledge.policy("POL-RETURN")] == ["签收7天内可无理由退货", "商品需保持完好、吊牌齐全"]
    assert knowledge.policy("nope") == []
    faq = knowledge.faq("FAQ-SHIP")
    assert faq.answer == "付款后48小时内发货" and faq.paraphrases == ("什么时候发货", "几天能发货")
    assert faq.tags == ("物流",)
    assert knowledge.faq("nope") is None
    assert [f.faq_id for f in knowledge.all_faq()] == ["FAQ-DRESS", "FAQ-SHIP", "FAQ-X14", "P1001-FAQ-1",
                                                       "P2001-FAQ-1"]
    assert len(knowledge.all_clauses()) == 5 + 2


def test_catalog_lexicon(knowledge, graph_db, settings):
    lexicon = knowledge.catalog_lexicon()
    assert lexicon.version == str(knowledge_version(graph_db, settings.neo4j_database)) == "1"
    by = {(e.surface, e.type): e for e in lexicon.entries}
    assert by[("法式碎花连衣裙", "product")].value == "P2001"
    assert by[("碎花裙", "product")].source == "alias"
    assert by[("X14", "product")].product_ids == ("P4001",)
    assert by[("棉语", "brand")].product_ids == ("P2001", "P3001")
    assert by[("服装", "category")].product_ids == ("P2001", "P3001")
    assert by[("连衣裙", "category")].value == "服装/女装/连衣裙"
    assert by[("红色", "color")].product_ids == ("P2001",) and by[("红色", "color")].attribute == "color"
    assert by[("M", "size")].product_ids == ("P1001", "P2001")  # seed options count too
    assert by[("256GB", "attribute")].attribute == "storage"


def test_order_service(knowledge, graph_db, settings):
    orders = GraphOrderService(graph_db, settings.neo4j_database, settings.phone_hash_salt.get_secret_value())
    assert isinstance(orders, OrderService)
    info = orders.lookup("O202405010001")
    assert info.status == "已发货" and info.carrier == "顺丰" and info.tracking_no == "SF100"
    assert info.created_at == datetime.fromisoformat("2024-05-01T10:00:00+08:00")
    assert info.items == (("P2001-RED-M", 1), ("P4001-BLK-256", 2))
    assert orders.lookup(" O202405010001 ").order_id == "O202405010001"
    assert orders.lookup("nope") is None
    assert orders.verify("O202405010001", "8000") and orders.verify_last4("O202405020002", "1234")
    assert not orders.verify("O202405010001", "0000") and not orders.verify("nope", "8000")
    assert not orders.verify("O202405010001", "800")
    assert orders.verify_phone("O202405020002", "+86 139 0000 1234")
    assert not orders.verify_phone("O202405020002", "13900001235")
    wrong_salt = GraphOrderService(graph_db, settings.neo4j_database, "other-salt")
    assert not wrong_salt.verify_phone("O202405020002", "13900001234")


def _operators(plan, out):
    out.append((plan["operatorType"].split("@")[0], plan.get("args", {}).get("Details", "")))
    for child in plan.get("children", []):
        _operators(child, out)
    return out


@pytest.mark.parametrize("query,params,index", [
    (q.Q_VARIANTS, {"product_id": "P2001"}, "Variant("),
    (q.Q_VARIANTS_FILTERED, {"product_id": "P2001", "filters": [{"keys": ["color", "颜色"], "value": "红色"}]},
     "Variant("),
    (q.Q_CHEAPEST, {"in_stock_only": True}, "Product(price)"),
    (q.Q_CHEAPEST_IN_CATEGORY, {"prefix": "服装", "in_stock_only": True}, "Product(category)"),
    (q.Q_CLAUSES_IN_FORCE, {"product_id": "P2001", "category": None, "at": NOW}, "Policy(effective_from"),
    (q.Q_PRODUCT, {"product_id": "P2001"}, "Product(product_id)"),
    (q.Q_POLICY_CLAUSES, {"policy_id": "POL-RETURN"}, "Policy(policy_id)"),
    (q.Q_FAQ, {"faq_id": "FAQ-SHIP"}, "FAQ(faq_id)"),
])
def test_queries_use_indexes(knowledge, graph_db, settings, query, params, index):
    result = graph_db.execute_query("EXPLAIN " + query, params, database_=settings.neo4j_database)
    ops = _operators(result.summary.plan, [])
    seeks = [d for op, d in ops if "Index" in op]
    assert any(index in d for d in seeks), ops
    # No full scan of the big labels.
    assert not any(op in ("NodeByLabelScan", "AllNodesScan") and ("Variant" in d or "Product" in d)
                   for op, d in ops), ops
