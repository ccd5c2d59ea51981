"""The dialogue mechanisms of issue 10 on a store generated here (no store's
words in the code): information before procedure, a concrete complaint, a
clarification answered by a fragment, the move to a sibling product, and size
advice from the store's own size table. Real Neo4j, real e5 models, real Redis,
assembled by ``dialog.runtime.build_runtime``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dialog.runtime import Runtime
from tests.generated_store import Chat, GeneratedStore, generated_runtime, sources, variant

pytestmark = pytest.mark.slow


PRODUCTS = [
    {"product_id": "G100", "name": "林风 原味燕麦饼干", "brand": "林风", "category": "食品/零食/饼干", "price": 19.9,
     "description": "燕麦和小麦粉烘焙，独立小包装。", "variants": [variant("G100-1", 40, 19.9, spec="300g")]},
    {"product_id": "G101", "name": "林风 抹茶燕麦饼干", "brand": "林风", "category": "食品/零食/饼干", "price": 23.9,
     "description": "燕麦和抹茶粉烘焙，独立小包装。", "variants": [variant("G101-1", 12, 23.9, spec="300g")]},
    {"product_id": "G102", "name": "海岳 原味苏打饼干", "brand": "海岳", "category": "食品/零食/饼干", "price": 9.9,
     "description": "低糖苏打饼干。", "variants": [variant("G102-1", 30, 9.9, spec="400g")]},
    {"product_id": "G200", "name": "远途 单人户外睡袋", "brand": "远途", "category": "户外/露营/睡袋", "price": 159.0,
     "aliases": ["远途睡袋"], "description": "适合春秋露营。",
     "variants": [variant("G200-1", 7, 159.0, color="军绿")]},
    {"product_id": "G201", "name": "远途 双人户外睡袋", "brand": "远途", "category": "户外/露营/睡袋", "price": 269.0,
     "aliases": ["远途睡袋"], "description": "两人同睡，可拆成两条。",
     "variants": [variant("G201-1", 3, 269.0, color="军绿")]},
    {"product_id": "G300", "name": "清泉 不锈钢保温杯 500ml", "brand": "清泉", "category": "家居/水杯/保温杯",
     "price": 89.0, "aliases": ["清泉保温杯"], "variants": [variant("G300-1", 21, 89.0, color="白色")]},
    {"product_id": "G301", "name": "清泉 不锈钢保温杯 750ml", "brand": "清泉", "category": "家居/水杯/保温杯",
     "price": 109.0, "aliases": ["清泉保温杯"], "variants": [variant("G301-1", 6, 109.0, color="白色")]},
    {"product_id": "G400", "name": "小树 儿童纯棉家居服套装", "brand": "小树", "category": "童装/家居服/套装",
     "price": 79.0, "description": "尺码参考：110码适合身高100-110cm，120码适合身高110-120cm，130码适合身高120-130cm。",
     "variants": [variant("G400-110", 5, 79.0, size="110"), variant("G400-120", 9, 79.0, size="120"),
                  variant("G400-130", 4, 79.0, size="130")]},
    {"product_id": "G500", "name": "步云 休闲帆布鞋", "brand": "步云", "category": "鞋靴/休闲鞋/帆布鞋", "price": 129.0,
     "description": "帆布鞋面，橡胶大底。版型偏小半码，建议拍大半码。",
     "variants": [variant(f"G500-{s}", 6, 129.0, size=s) for s in ("38", "38.5", "39", "39.5", "40")]},
    {"product_id": "G700", "name": "森野 碳素登山杖", "brand": "森野", "category": "户外/登山/登山杖", "price": 139.0,
     "variants": [variant("G700-BK", 8, 139.0, color="黑色"), variant("G700-OR", 3, 139.0, color="橙色")]},
    {"product_id": "G701", "name": "森野 铝合金登山杖", "brand": "森野", "category": "户外/登山/登山杖", "price": 69.0,
     "variants": [variant("G701-BK", 5, 69.0, color="黑色"), variant("G701-BL", 4, 69.0, color="蓝色")]},
    {"product_id": "G600", "name": "云起 加厚运动袜", "brand": "云起", "category": "服饰/袜子/运动袜", "price": 29.0,
     "description": "毛圈底，吸汗。", "variants": [variant(f"G600-{s}", 10, 29.0, size=s) for s in ("S", "M", "L")]},
]
FAQ = [
    {"faq_id": "GF-1", "question": "下单后收货信息填错了可以修改吗？",
     "answer": "订单发货前可以在订单详情页自行修改收货人、电话和地址；已发货的订单请联系客服尝试拦截改派。",
     "paraphrases": ["地址写错了怎么改", "收件人姓名能不能换"], "tags": ["订单"]},
    {"faq_id": "GF-2", "question": "收到的商品破损了怎么办？",
     "answer": "签收后发现商品破损，请在48小时内拍照联系客服，核实后为您补发或退款。",
     "paraphrases": ["东西到了是坏的", "快递送来就碎了"], "tags": ["售后"]},
    {"faq_id": "GF-3", "question": "已经发货的订单还能取消吗？",
     "answer": "已发货的订单不能直接取消，可以拒收包裹，或签收后申请退货退款。",
     "paraphrases": ["发出去了能退单吗", "寄出了还能撤销订单不"], "tags": ["订单"]},
    {"faq_id": "GF-4", "question": "默认发什么快递？", "answer": "默认发韵达快递，偏远地区发邮政。",
     "paraphrases": ["用哪家快递"], "tags": ["物流"]},
]
POLICIES = [
    {"policy_id": "GP-RET", "title": "退货规则", "version": "1",
     "clauses": [{"text": "签收7天内商品完好可申请退货，非质量问题运费由买家承担。"},
                 {"text": "食品拆封后不支持无理由退货。"}],
     "applies_to": {"categories": ["食品", "户外", "家居", "童装", "鞋靴", "服饰"]},
     "effective_from": "2026-01-01T00:00:00+08:00"},
]


@pytest.fixture(scope="module")
def runtime(driver, settings, encoder, intent_classifier, emotion_scorer, redis_server,
            tmp_path_factory) -> Iterator[Runtime]:
    with generated_runtime(GeneratedStore(PRODUCTS, FAQ, POLICIES), tmp_path_factory.mktemp("generated-store"),
                           driver=driver, settings=settings, encoder=encoder, classifier=intent_classifier,
                           emotion=emotion_scorer, redis_url=redis_server.url, prefix="t:s") as rt:
        yield rt


# --- information before procedure ---------------------------------------------------
@pytest.mark.parametrize(("question", "faq_id"), [
    ("收货人能改吗", "GF-1"),
    ("发货了还能取消订单吗", "GF-3"),
])
def test_how_something_works_is_answered_from_the_faq(runtime, question, faq_id):
    r = Chat(runtime, f"info-{faq_id}")(question)
    assert r.state.value == "answered", r.reply
    assert sources(r, "faq") == {faq_id}
    assert "订单号" not in r.reply


def test_a_request_to_act_on_my_order_starts_the_order_flow(runtime):
    r = Chat(runtime, "act-1")("帮我取消订单")
    assert r.intent == "cancel_order"
    assert r.state.value == "await_order_id"


def test_a_concrete_complaint_gets_apology_rule_and_offer_of_a_person(runtime):
    r = Chat(runtime, "complaint-1")("差评 东西收到就是坏的")
    assert r.handoff is None and r.state.value in ("answered", "clarify"), r.reply
    assert "抱歉" in r.reply and "转人工" in r.reply
    assert "GF-2" in sources(r, "faq")


def test_an_explicit_request_still_hands_off_at_once(runtime):
    r = Chat(runtime, "complaint-2")("杯子碎了 转人工")
    assert r.handoff is not None and r.state.value == "handoff"


# --- a clarification answered by a fragment -------------------------------------------
@pytest.mark.parametrize(("fragment", "chosen"), [
    ("双人的", "G201"), ("单人那个", "G200"), ("贵的那个", "G201"), ("第二个", None),
])
def test_fragment_of_one_option_resolves_it(runtime, fragment, chosen):
    chat = Chat(runtime, f"frag-{fragment}")
    r = chat("远途睡袋还有货吗")
    assert r.state.value == "clarify" and {"G200", "G201"} <= sources(r, "product")
    offered = r.suggestions
    r = chat(fragment)
    if chosen is None:  # 第二个: whichever was listed second
        chosen = "G201" if "双人" in offered[1] else "G200"
    assert r.state.value == "answered", r.reply
    assert sources(r, "product") == {chosen}
    assert {"G200": "单人", "G201": "双人"}[chosen] in r.reply


@pytest.mark.parametrize(("fragment", "chosen"), [("750的", "G301"), ("大的那个", "G301"), ("小的", "G300")])
def test_size_or_capacity_fragment_resolves_it(runtime, fragment, chosen):
    chat = Chat(runtime, f"cap-{fragment}")
    r = chat("清泉保温杯多少钱")
    assert r.state.value == "clarify"
    r = chat(fragment)
    assert sources(r, "product") == {chosen}, r.reply
    assert {"G300": "89", "G301": "109"}[chosen] in r.reply


# --- sibling move -------------------------------------------------------------------
def test_the_named_word_moves_to_a_sibling_of_the_same_family(runtime):
    chat = Chat(runtime, "sibling-1")
    r = chat("林风抹茶燕麦饼干多少钱")
    assert sources(r, "product") == {"G101"} and "23.9" in r.reply
    r = chat("原味的那款呢")
    assert sources(r, "product") == {"G100"}, r.reply  # same brand beats the other brand's 原味
    assert "19.9" in r.reply


# --- size and fit ---------------------------------------------------------------------
def test_size_from_the_products_own_table(runtime):
    r = Chat(runtime, "size-1")("小树儿童纯棉家居服套装 孩子身高115穿多大")
    assert r.intent == "size_advice"
    assert "120" in r.reply and "110-120" in r.reply, r.reply
    assert "G400" in sources(r, "product")


def test_usual_size_and_fit_note(runtime):
    r = Chat(runtime, "size-2")("步云休闲帆布鞋 平时穿39码 这款选几码")
    assert "39.5" in r.reply and "偏小半码" in r.reply, r.reply


def test_no_table_says_so_and_lists_sizes(runtime):
    r = Chat(runtime, "size-3")("云起加厚运动袜 身高170穿什么码")
    assert "没有尺码表" in r.reply, r.reply
    assert all(s in r.reply for s in ("S", "M", "L"))


# --- the fact asked, carried between turns ------------------------------------------------
def test_a_fragment_with_its_own_question_answers_that_question(runtime):
    chat = Chat(runtime, "fact-1")
    r = chat("远途睡袋还有货吗")
    assert r.state.value == "clarify"
    r = chat("双人的多少钱")  # the fragment picks the option, its own words ask the price
    assert r.intent == "price_promotion" and sources(r, "product") == {"G201"}, r.reply
    assert "269" in r.reply


def test_a_bare_fragment_keeps_the_pending_question(runtime):
    chat = Chat(runtime, "fact-2")
    chat("远途睡袋还有货吗")
    r = chat("单人的")
    assert r.intent == "stock_check" and sources(r, "product") == {"G200"}, r.reply
    assert "269" not in r.reply and "159" not in r.reply


def test_which_product_for_a_price_question_shows_each_price(runtime):
    r = Chat(runtime, "fact-3")("清泉保温杯多少钱")
    assert r.state.value == "clarify"
    assert "89" in r.reply and "109" in r.reply, r.reply


def test_a_number_names_the_products_own_variant_and_the_next_turn_keeps_it(runtime):
    chat = Chat(runtime, "fact-4")
    r = chat("步云休闲帆布鞋多少钱")
    assert "129" in r.reply
    r = chat("39的还有吗")  # 39 is one of its sizes (not 39.5)
    assert r.intent == "stock_check" and "G500-39" in sources(r, "variant"), r.reply
    r = chat("还有几双")  # no size named: the 39 of the turn before
    assert r.intent == "stock_check" and sources(r, "variant") == {"G500-39"}, r.reply
    assert "6" in r.reply and "38.5" not in r.reply
    r = chat("还有别的尺码吗")  # asks about the other options: the size is not carried
    assert "38.5" in r.reply, r.reply


def test_a_follow_up_with_a_fact_word_asks_that_fact(runtime):
    chat = Chat(runtime, "fact-5")
    r = chat("步云休闲帆布鞋39码多少钱")
    assert r.intent == "price_promotion"
    r = chat("那40码的有几双")
    assert r.intent == "stock_check" and "G500-40" in sources(r, "variant"), r.reply


def test_a_policy_follow_up_stays_on_that_policy(runtime):
    chat = Chat(runtime, "policy-1")
    r = chat("食品拆封了还能退货吗")
    assert r.intent == "return_refund"
    r = chat("要是没拆封呢")
    assert r.intent == "return_refund", r.reply
    assert r.sources and r.state.value in ("answered", "clarify")


def test_product_ids_follow_the_stores_own_scheme(runtime):
    r = Chat(runtime, "ids-1")("g301还有货吗")  # lower case, the store's G-scheme
    assert sources(r, "product") == {"G301"}, r.reply
    r = Chat(runtime, "ids-2")("P1001还有货吗")  # another store's scheme names no product here
    assert not sources(r, "product") and "P1001" not in {e["value"] for e in r.entities}, r.reply


def test_brand_and_a_variant_only_one_of_its_products_has_name_that_product(runtime):
    r = Chat(runtime, "family-1")("森野蓝色的多少钱")  # only the aluminium one comes in blue
    assert sources(r, "product") == {"G701"} and "69" in r.reply, r.reply
    r = Chat(runtime, "family-2")("森野黑色的多少钱")  # both come in black: not guessed
    assert sources(r, "product") != {"G700"} and sources(r, "product") != {"G701"}, r.reply


def test_a_stock_question_gets_the_count_of_each_value(runtime):
    r = Chat(runtime, "counts-1")("森野碳素登山杖有货吗")
    assert r.intent == "stock_check"
    assert "黑色（8件）" in r.reply and "橙色（3件）" in r.reply, r.reply


def test_a_fact_word_after_the_product_asks_that_fact(runtime):
    chat = Chat(runtime, "counts-2")
    chat("森野铝合金登山杖多少钱")
    r = chat("那就要长一点的 还有几根")  # nothing linked, but 还有几 asks the stock of the same product
    assert r.intent == "stock_check" and "G701" in sources(r, "product"), r.reply


def test_which_size_of_the_product_being_discussed_is_size_advice(runtime):
    chat = Chat(runtime, "size-ctx")
    chat("步云休闲帆布鞋多少钱")
    r = chat("我平时穿39码 选哪个码好")
    assert r.intent == "size_advice" and "39.5" in r.reply, r.reply


def test_a_doubtful_goodbye_that_names_a_variant_is_a_product_question(runtime):
    classifier = runtime.engine.p.classifier
    doubted = [t for t in ("黑的吧", "那黑的呢", "蓝的吧", "那蓝的呢")
               if (p := classifier.classify(t)).unsure and p.intent in ("goodbye", "greeting")]
    assert doubted, "the classifier is sure of every fragment: pick fragments it doubts"
    for text in doubted:
        r = Chat(runtime, f"doubt-{text}")(text)
        assert r.intent in ("product_attribute", "stock_check", "price_promotion", "size_advice"), (text, r.intent)
        assert r.state.value != "closed", r.reply
