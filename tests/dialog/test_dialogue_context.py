"""Dialogue context carried between turns (issues 10 and 11), on a store generated
here: a remembered variant of another option narrows the next stock answer; size
advice for a kind of product carries the one product that comes in that size;
the product in context's own size table beats another product's; a message naming
a promotion is a promotion question; a short question after a product asks about
it; a product question its options do not answer is answered from its own FAQ.
Real Neo4j, real e5 models, real Redis, assembled by ``dialog.runtime.build_runtime``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from dialog.runtime import Runtime
from tests.generated_store import SH, Chat, Clock, GeneratedStore, generated_runtime, sources, variant

pytestmark = pytest.mark.slow
_variant = variant


def _seat(colour: str, model: str, stock: int) -> dict:
    return {"sku": f"H100-{colour}-{model}", "attributes": {"颜色": colour, "适用车型": model}, "stock": stock,
            "price": 299.0}


PRODUCTS = [
    {"product_id": "H100", "name": "驰行 四季汽车坐垫", "brand": "驰行", "category": "汽车用品/内饰/坐垫", "price": 299.0,
     "description": "冰丝面料，四季通用。",
     "variants": [_seat("黑色", "大众宝来", 4), _seat("黑色", "日产轩逸", 9), _seat("米色", "大众宝来", 6),
                  _seat("米色", "日产轩逸", 0)]},
    {"product_id": "H200", "name": "小跑 儿童自行车 12寸", "brand": "小跑", "category": "运动户外/骑行/儿童自行车",
     "price": 399.0, "variants": [_variant("H200-R", 5, 399.0, 尺寸="12寸", 颜色="红色"),
                                  _variant("H200-B", 0, 399.0, 尺寸="12寸", 颜色="蓝色")]},
    {"product_id": "H201", "name": "小跑 儿童自行车 16寸", "brand": "小跑", "category": "运动户外/骑行/儿童自行车",
     "price": 459.0, "variants": [_variant("H201-G", 7, 459.0, 尺寸="16寸", 颜色="绿色"),
                                  _variant("H201-W", 2, 459.0, 尺寸="16寸", 颜色="白色")]},
    {"product_id": "H202", "name": "飞鸟 儿童自行车 20寸", "brand": "飞鸟", "category": "运动户外/骑行/儿童自行车",
     "price": 529.0, "variants": [_variant("H202-K", 3, 529.0, 尺寸="20寸", 颜色="黑色")]},
    {"product_id": "H300", "name": "木声 民谣吉他", "brand": "木声", "category": "乐器/吉他/民谣吉他", "price": 699.0,
     "variants": [_variant("H300-38", 4, 699.0, 尺寸="38寸", 颜色="原木色"),
                  _variant("H300-40", 6, 699.0, 尺寸="40寸", 颜色="原木色")]},
    {"product_id": "H400", "name": "暖居 不锈钢保温杯 400ml", "brand": "暖居", "category": "家居/水杯/保温杯",
     "price": 99.0, "description": "304不锈钢内胆，旋盖。",
     "variants": [_variant("H400-W", 10, 99.0, 颜色="白色"), _variant("H400-G", 3, 99.0, 颜色="灰色")]},
    {"product_id": "H401", "name": "暖居 不锈钢焖烧杯 600ml", "brand": "暖居", "category": "家居/水杯/保温杯",
     "price": 129.0, "description": "宽口设计，配折叠勺。",
     "variants": [_variant("H401-W", 8, 129.0, 颜色="白色")]},
]
FAQ = [
    {"faq_id": "HF-1", "question": "儿童自行车选多大尺寸？",
     "answer": "身高95-110cm选12寸；身高110-125cm选16寸；身高125cm以上选20寸。",
     "paraphrases": ["孩子骑几寸的车", "身高多少选哪个尺寸好"], "tags": ["骑行", "尺寸"]},
    {"faq_id": "HF-2", "question": "木声吉他怎么挑？", "answer": "身高150cm以下选38寸；身高150cm以上选40寸。",
     "tags": ["乐器"], "about": {"product_id": "H300"}},
    {"faq_id": "HF-3", "question": "坐垫好安装吗？", "answer": "不用拆座椅，一个人大约20分钟可以装好。",
     "paraphrases": ["坐垫要自己装吗"], "tags": ["汽车", "安装"], "about": {"product_id": "H100"}},
    {"faq_id": "HF-4", "question": "记录仪可以帮忙安装吗？", "answer": "可以预约合作门店安装，安装费80元。",
     "paraphrases": ["记录仪怎么装"], "tags": ["汽车", "安装"]},
    {"faq_id": "HF-5", "question": "暖居保温杯保温多久？", "answer": "装满开水盖紧，6小时后水温不低于65℃。",
     "paraphrases": ["这个杯子保温效果怎么样"], "tags": ["保温杯"], "about": {"product_id": "H400"}},
    {"faq_id": "HF-6", "question": "焖烧杯能焖多久？", "answer": "焖粥4小时左右即可食用，8小时后不低于50℃。",
     "paraphrases": ["焖烧杯保温多久"], "tags": ["保温杯"], "about": {"product_id": "H401"}},
    {"faq_id": "HF-7", "question": "默认发什么快递？", "answer": "默认发圆通快递。", "paraphrases": ["用哪家快递"],
     "tags": ["物流"]},
]
CATEGORIES = ["汽车用品", "运动户外", "乐器", "家居"]
POLICIES = [
    {"policy_id": "HP-NOW", "title": "冬季暖心节", "version": "1",
     "clauses": [{"text": "活动期间全店满300减40，满600减90。"}, {"text": "满减可与店铺优惠券叠加使用。"}],
     "applies_to": {"categories": CATEGORIES},
     "effective_from": "2026-12-14T00:00:00+08:00", "effective_to": "2027-01-31T00:00:00+08:00"},
    {"policy_id": "HP-OLD", "title": "双12大促活动规则", "version": "1",
     "clauses": [{"text": "双12期间全店满200减20。"}], "applies_to": {"categories": CATEGORIES},
     "effective_from": "2026-12-10T00:00:00+08:00", "effective_to": "2026-12-13T00:00:00+08:00"},
]


@pytest.fixture(scope="module")
def runtime(driver, settings, encoder, intent_classifier, emotion_scorer, redis_server,
            tmp_path_factory) -> Iterator[Runtime]:
    with generated_runtime(GeneratedStore(PRODUCTS, FAQ, POLICIES), tmp_path_factory.mktemp("context-store"),
                           driver=driver, settings=settings, encoder=encoder, classifier=intent_classifier,
                           emotion=emotion_scorer, redis_url=redis_server.url, prefix="t:ctx",
                           clock=Clock(datetime(2026, 12, 20, 14, 0, tzinfo=SH))) as rt:
        yield rt


# --- a remembered variant of another option --------------------------------------------------
def test_a_remembered_variant_of_another_option_narrows_the_next_stock_answer(runtime):
    chat = Chat(runtime, "carry-1")
    r = chat("驰行四季汽车坐垫 大众宝来的多少钱")
    assert "299" in r.reply, r.reply
    r = chat("黑色还有几个")  # the car model of the turn before still holds
    assert r.intent == "stock_check" and sources(r, "variant") == {"H100-黑色-大众宝来"}, r.reply
    assert "4" in r.reply and "9" not in r.reply
    r = chat("米色还有几个")  # the colour is named again: replaced, the model kept
    assert sources(r, "variant") == {"H100-米色-大众宝来"}, r.reply
    assert "6" in r.reply
    r = chat("那黑色的呢")  # 那…呢 asks about the new value alone: every model of it
    assert "大众宝来" in r.reply and "日产轩逸" in r.reply, r.reply


# --- size advice ---------------------------------------------------------------------------------
def test_size_advice_for_a_kind_carries_the_one_product_in_that_size(runtime):
    chat = Chat(runtime, "kind-1")
    r = chat("想给孩子买辆儿童自行车 身高100")
    assert r.intent == "size_advice" and "12寸" in r.reply, r.reply
    r = chat("有什么颜色")  # only one bicycle comes in 12寸: the conversation is about it now
    assert sources(r, "product") == {"H200"}, r.reply
    assert "红色" in r.reply and "蓝色" in r.reply
    r = chat("怎么下单")
    assert "H200" in sources(r, "product") and "小跑" in r.reply, r.reply


def test_size_advice_uses_the_own_table_of_the_product_in_context(runtime):
    chat = Chat(runtime, "own-table-1")
    r = chat("木声民谣吉他多少钱")
    assert "699" in r.reply, r.reply
    r = chat("我身高145 选哪个尺寸好")  # not the bicycle table, whose 16寸 the guitar does not come in
    assert r.intent == "size_advice" and "38寸" in r.reply, r.reply
    assert "HF-2" in sources(r, "faq")


def test_which_sizes_there_are_is_an_attribute_question(runtime):
    r = Chat(runtime, "sizes-1")("小跑儿童自行车有哪几个尺寸")
    assert r.intent == "product_attribute", r.reply
    assert "12寸" in r.reply and "16寸" in r.reply


# --- promotions ----------------------------------------------------------------------------------
def test_a_message_naming_a_promotion_is_a_promotion_question(runtime):
    r = Chat(runtime, "promo-1")("驰行四季汽车坐垫能用满300减40吗")
    assert r.intent == "price_promotion", r.reply
    assert "满300减40" in r.reply
    r = Chat(runtime, "promo-2")("小跑儿童自行车16寸 双12那个满200减20还有吗")
    assert r.intent == "price_promotion", r.reply
    assert "结束" in r.reply


# --- the product in context ----------------------------------------------------------------------
def test_a_short_question_after_a_product_asks_about_it(runtime):
    chat = Chat(runtime, "short-1")
    chat("驰行四季汽车坐垫多少钱")
    r = chat("好装吗")
    assert "20分钟" in r.reply, r.reply
    assert "HF-3" in sources(r, "faq")


def test_a_product_question_is_answered_from_its_own_faq(runtime):
    chat = Chat(runtime, "own-faq-1")
    r = chat("暖居不锈钢保温杯多少钱")
    assert "99" in r.reply, r.reply
    r = chat("它保温能保多久")
    assert r.intent == "product_attribute" and "65℃" in r.reply, r.reply
    r = chat("那焖烧杯呢")  # the same question about the sibling: its own entry
    assert "H401" in sources(r, "product") and "50℃" in r.reply, r.reply


# --- intent in context -------------------------------------------------------------------------
def test_a_measurement_with_the_question_which_size_is_size_advice(runtime):
    r = Chat(runtime, "measure-1")("身高118 选哪个尺寸")
    assert r.intent == "size_advice", r.reply


def test_an_order_number_asking_how_far_it_got_is_an_order_status_question(runtime):
    from dialog.understand import understand
    from schema.conversation import SessionContext

    engine = runtime.engine
    now = datetime(2026, 12, 20, 14, 0, tzinfo=SH)
    text = "2612011010104321 尾号5678 退款现在到哪一步了 麻烦帮忙看看"  # longer than a bare number
    u = understand(text, SessionContext(session_id="u-1", created_at=now, updated_at=now), engine.p.classifier,
                   engine.p.linker, engine.p.emotion, engine.router.table.cues)
    assert u.order_id == "2612011010104321" and u.intent == "order_status", u.intent
