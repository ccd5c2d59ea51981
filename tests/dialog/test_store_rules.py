"""Answers from the store's own rules (issue 10 items 2 and 3, issue 11 item 4) on a store generated
here: the one candidate on the question's topic answers instead of an offer of 1/2/3; an order's
status is explained with the store's own dispatch and unpaid-order rules (no duration of ours);
a request for a person gets the store's agent hours or escalation rule; a shopper waiting for a
person hears that each message was added to the ticket, and silence only once a person has it.
Real Neo4j, real e5 models, real Redis, assembled by ``dialog.runtime.build_runtime``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialog.agent_hours import AgentHours
from dialog.handoff import HandoffNotes, HandoffNotesError
from dialog.order_facts import OrderFacts, OrderFactsError
from dialog.runtime import Runtime
from retrieval.ranker import Candidate, CandidateRanker, RankerConfigError
from tests.generated_store import GeneratedStore, generated_runtime, sources


def _variant(sku: str, stock: int, price: float, **attrs: str) -> dict:
    return {"sku": sku, "attributes": attrs, "stock": stock, "price": price}


PRODUCTS = [
    {"product_id": "Q-10", "name": "禾木 定制姓名木勺", "brand": "禾木", "category": "厨房/餐具", "price": 39.0,
     "description": "榉木勺，可定制刻名。整只勺质保6个月，人为损坏除外。", "variants": [_variant("Q-10-A", 30, 39.0, size="长款")]},
    {"product_id": "Q-20", "name": "禾木 竹编收纳篮", "brand": "禾木", "category": "家居/收纳", "price": 59.0,
     "description": "手工竹编，大容量。", "variants": [_variant("Q-20-A", 12, 59.0, size="大号")]},
]
FAQ = [
    {"faq_id": "QF-PAY", "question": "可以用哪些方式付款？", "answer": "可以用支付宝、微信和银行卡付款，暂不支持货到付款。"},
    {"faq_id": "QF-FAIL", "question": "付款失败怎么办？",
     "answer": "换一张银行卡或换一种方式再试。待付款订单保留12小时，超时自动关闭。"},
    {"faq_id": "QF-HOURS", "question": "客服什么时候在？",
     "answer": "人工客服每天8:30-20:30在线，其他时间请留言。"},
    {"faq_id": "QF-BOSS", "question": "对客服的处理不满意怎么办？",
     "answer": "可以申请升级处理，客服主管会在12小时内联系您。"},
    {"faq_id": "QF-ADDR", "question": "修改收货信息多久生效？", "answer": "发货前在订单页修改收货信息，提交后5分钟内生效。"},
    {"faq_id": "QF-BAMBOO", "question": "竹编篮怎么清洁？", "answer": "用软毛刷蘸清水刷洗后放阴凉处晾干。"},
]
POLICIES = [
    {"policy_id": "QP-SHIP", "title": "发货说明", "version": "1",
     "clauses": [{"text": "每天16:00前付款的订单当天发出，16:00以后付款的次日发出。"},
                 {"text": "定制商品付款后5个工作日内发出。"},
                 {"text": "全店满59元包邮。"}],
     "effective_from": "2026-01-01T00:00:00+08:00"},
    {"policy_id": "QP-WAR", "title": "家居用品一年保修", "version": "1",
     "clauses": [{"text": "家居用品自签收起保修1年，非人为损坏免费维修。"}],
     "applies_to": {"categories": ["家居"]}, "effective_from": "2026-01-01T00:00:00+08:00"},
]
PHONE = "13900001234"
ORDERS = [
    {"order_id": "9100000000000001", "phone": PHONE, "status": "已付款", "items": [{"sku": "Q-10-A", "qty": 1}],
     "created_at": "2026-11-30T10:00:00+08:00", "paid_at": "2026-11-30T10:02:00+08:00"},
    {"order_id": "9100000000000002", "phone": PHONE, "status": "已付款", "items": [{"sku": "Q-20-A", "qty": 1}],
     "created_at": "2026-11-30T11:00:00+08:00", "paid_at": "2026-11-30T11:02:00+08:00"},
    {"order_id": "9100000000000003", "phone": PHONE, "status": "已取消", "items": [{"sku": "Q-20-A", "qty": 2}],
     "created_at": "2026-11-28T09:00:00+08:00"},
]


@pytest.fixture(scope="module")
def runtime(driver, settings, encoder, intent_classifier, emotion_scorer, redis_server,
            tmp_path_factory) -> Iterator[Runtime]:
    with generated_runtime(GeneratedStore(PRODUCTS, FAQ, POLICIES, ORDERS), tmp_path_factory.mktemp("rules-store"),
                           driver=driver, settings=settings, encoder=encoder, classifier=intent_classifier,
                           emotion=emotion_scorer, redis_url=redis_server.url, prefix="t:q",
                           agent_hours=AgentHours.parse("09:00-21:00")) as rt:
        yield rt


# --- information: the one candidate on the topic answers ----------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("question", "faq_id", "fact"), [
    ("可以货到付款吗", "QF-PAY", "不支持货到付款"),
    ("拍下了还没付款 订单会保留多久", "QF-FAIL", "12小时"),
])
def test_the_faq_on_the_topic_answers_without_an_offer(runtime, question, faq_id, fact):
    r = runtime.engine.chat(f"info-{faq_id}", question)
    assert r.state.value == "answered", r.reply
    assert sources(r, "faq") == {faq_id} and fact in r.reply, (r.reply, r.sources)


@pytest.mark.slow
def test_a_category_its_topics_policy_leaves_out_gets_what_its_pages_say(runtime):
    r = runtime.engine.chat("cat-warranty", "餐具保修多久")
    assert r.state.value == "answered", r.reply
    assert "质保6个月" in r.reply and "家居用品一年保修" in r.reply, r.reply
    assert sources(r, "product") == {"Q-10"} and not sources(r, "clause")


@pytest.mark.slow
def test_a_rule_question_told_with_my_own_case_is_answered_before_any_order_flow(runtime):
    r = runtime.engine.chat("addr-rule", "改收货信息多久生效 我门牌号写错了")
    assert r.state.value == "answered" and sources(r, "faq") == {"QF-ADDR"}, r.reply
    act = runtime.engine.chat("addr-act", "帮我改一下收货地址")
    assert act.state.value == "await_order_id", act.reply


# --- order status: the store's own rule, never ours -------------------------------------------------
def _order_reply(rt: Runtime, sid: str, order_id: str):
    return rt.engine.chat(sid, f"订单{order_id} 尾号{PHONE[-4:]} 发货了吗")


@pytest.mark.slow
def test_a_paid_order_ships_by_the_rule_for_its_product(runtime):
    custom = _order_reply(runtime, "ord-custom", "9100000000000001")
    assert "5个工作日" in custom.reply and "16:00" not in custom.reply, custom.reply
    assert "QP-SHIP#2" in sources(custom, "clause")
    plain = _order_reply(runtime, "ord-plain", "9100000000000002")
    assert "16:00" in plain.reply and "5个工作日" not in plain.reply, plain.reply
    assert "48" not in custom.reply + plain.reply  # no duration of the bot's own


@pytest.mark.slow
def test_an_unpaid_closed_order_is_explained_by_the_stores_rule(runtime):
    r = runtime.engine.chat("ord-closed", f"9100000000000003 尾号{PHONE[-4:]} 怎么显示取消了")
    assert "已取消" in r.reply and "12小时" in r.reply, r.reply
    assert "QF-FAIL" in sources(r, "faq")


# --- hand-off: hours and escalation from the store; the waiting shopper is answered ---------------
@pytest.mark.slow
def test_asking_when_a_person_is_there_gets_the_stores_hours(runtime):
    r = runtime.engine.chat("ho-hours", "转人工 客服几点上班")
    assert r.state.value == "handoff" and "8:30-20:30" in r.reply, r.reply
    assert sources(r, "faq") == {"QF-HOURS"}


@pytest.mark.slow
def test_asking_for_someone_higher_up_gets_the_stores_escalation_rule(runtime):
    r = runtime.engine.chat("ho-boss", "转人工 我要找你们主管")
    assert r.state.value == "handoff" and "主管" in r.reply and "12小时" in r.reply, r.reply


@pytest.mark.slow
def test_a_plain_request_for_a_person_adds_nothing(runtime):
    r = runtime.engine.chat("ho-plain", "转人工")
    assert r.state.value == "handoff" and "8:30" not in r.reply and not r.sources, r.reply


@pytest.mark.slow
def test_a_waiting_shopper_is_acknowledged_until_a_person_joins(runtime):
    engine = runtime.engine
    r = engine.chat("ho-wait", "转人工")
    ticket_id = r.handoff.ticket_id
    waiting = engine.chat("ho-wait", "订单的事麻烦快点处理")
    assert waiting.state.value == "handoff" and "工单" in waiting.reply, waiting.reply
    assert any(t.text == "订单的事麻烦快点处理" for t in runtime.handoffs.get(ticket_id).transcript)
    runtime.handoffs.claim(ticket_id, "alice")
    assert engine.chat("ho-wait", "在吗").reply == ""  # a person has it now


def test_notes_without_a_store_sentence_fall_back_to_the_configured_hours(runtime):
    notes = HandoffNotes.load()
    cache = runtime.engine.p.cache
    kept = dict(cache.faq)
    try:
        cache.faq = {k: v for k, v in kept.items() if k != "QF-HOURS"}
        note = notes.note("几点有人工", runtime.engine.p.searcher, cache, "人工客服在线时间是每天 09:00-21:00。")
        assert note is not None and "09:00-21:00" in note.text and not note.sources
    finally:
        cache.faq = kept
    assert notes.note("我要退货", runtime.engine.p.searcher, cache, "x") is None


# --- the parts on their own ---------------------------------------------------------------------------
def test_best_supported_needs_the_topic_and_no_close_rival():
    ranker = CandidateRanker.load()
    off = Candidate("faq", "F-brew", "红茶怎么泡？", "红茶怎么泡？ 用90℃的水。", 0.862)
    on = Candidate("faq", "F-pay", "支持哪些付款方式？", "支持哪些付款方式？ 暂不支持货到付款。", 0.858)
    ranked = ranker.rank("能货到付款吗", "payment", [off, on])
    assert ranker.best_supported(ranked, "payment").id == "F-pay"
    assert ranker.best_supported(ranked, None) is None  # an unsure intent supports nothing
    rival = Candidate("faq", "F-fail", "付款失败怎么办？", "付款失败怎么办？ 货到付款订单请联系客服。", 0.857)
    assert ranker.best_supported(ranker.rank("能货到付款吗", "payment", [off, on, rival]), "payment") is None
    low = Candidate("faq", "F-pay", "支持哪些付款方式？", "支持哪些付款方式？ 暂不支持货到付款。", 0.70)
    assert ranker.best_supported(ranker.rank("能货到付款吗", "payment", [low]), "payment") is None


def test_bad_data_files_name_the_file(tmp_path):
    path = tmp_path / "ranker.json"
    raw = json.loads((Path(__file__).parents[2] / "retrieval" / "ranker.json").read_text(encoding="utf-8"))
    raw["supported_answer"] = {"floor": 1.5, "margin": 0.01}
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(RankerConfigError, match=r"ranker\.json: supported_answer"):
        CandidateRanker.load(path)
    facts = tmp_path / "order_facts.json"
    facts.write_text(json.dumps({"facts": {"dispatch": ["发出"]}}), encoding="utf-8")
    with pytest.raises(OrderFactsError, match=r"order_facts\.json: facts \['unpaid_closed'\]"):
        OrderFacts.load(None, None, set, facts)  # type: ignore[arg-type]
    notes = tmp_path / "handoff_notes.json"
    notes.write_text(json.dumps({"asks_hours": ["几点"]}), encoding="utf-8")
    with pytest.raises(HandoffNotesError, match=r"handoff_notes\.json"):
        HandoffNotes.load(notes)
