"""A comparison with a sibling product named by a fragment (issue 10): after a question
about one product, 跟大号的比 高多少 compares it with the sibling of its family that the
fragment names, states the measurement for both (attributes first, else the
description) and the difference; a product that does not state it is said not to;
a fragment that is the product's own variant compares its variants. Real Neo4j,
real e5 models, real Redis, on a store generated here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from dialog.runtime import Runtime
from tests.generated_store import SH, Chat, Clock, GeneratedStore, generated_runtime, sources, variant

pytestmark = pytest.mark.slow

PRODUCTS = [
    {"product_id": "K100", "name": "清泉 电热水壶 1.5L", "brand": "清泉", "category": "家电/厨房/电热水壶",
     "price": 129.0, "description": "304不锈钢内胆，容量1.5L，壶身高22cm，重量约1.1kg。",
     "variants": [variant("K100-W", 8, 129.0, 颜色="白色")]},
    {"product_id": "K101", "name": "清泉 电热水壶 1.8L", "brand": "清泉", "category": "家电/厨房/电热水壶",
     "price": 149.0, "description": "304不锈钢内胆，容量1.8L，壶身高25cm，重量约1.3kg。",
     "variants": [variant("K101-W", 5, 149.0, 颜色="白色")]},
    {"product_id": "B100", "name": "整理家 收纳箱 小号", "brand": "整理家", "category": "家居/收纳/收纳箱",
     "price": 39.0, "description": "带盖，可叠放。", "attributes": {"stock": 20, "高度": "18cm", "长度": "40cm"}},
    {"product_id": "B101", "name": "整理家 收纳箱 大号", "brand": "整理家", "category": "家居/收纳/收纳箱",
     "price": 59.0, "description": "带盖，可叠放，箱体高30cm。", "attributes": {"stock": 12}},
    {"product_id": "S100", "name": "踏云 轻跑鞋", "brand": "踏云", "category": "运动户外/跑步/跑鞋", "price": 299.0,
     "variants": [variant("S100-40", 6, 279.0, 尺码="40码"), variant("S100-41", 4, 299.0, 尺码="41码")]},
]
FAQ = [
    {"faq_id": "SF-1", "question": "默认发什么快递？", "answer": "默认发中通快递。", "paraphrases": ["用哪家快递"],
     "tags": ["物流"]},
]


@pytest.fixture(scope="module")
def runtime(driver, settings, encoder, intent_classifier, emotion_scorer, redis_server,
            tmp_path_factory) -> Iterator[Runtime]:
    with generated_runtime(GeneratedStore(PRODUCTS, FAQ), tmp_path_factory.mktemp("sibling-store"),
                           driver=driver, settings=settings, encoder=encoder, classifier=intent_classifier,
                           emotion=emotion_scorer, redis_url=redis_server.url, prefix="t:sib",
                           clock=Clock(datetime(2026, 12, 20, 14, 0, tzinfo=SH))) as rt:
        yield rt


def test_a_measurement_compared_with_a_sibling_gives_both_values_and_the_difference(runtime):
    chat = Chat(runtime, "sib-1")
    r = chat("清泉电热水壶1.5L多少钱")
    assert "129" in r.reply, r.reply
    r = chat("跟1.8L的比 壶身高多少")
    assert r.intent == "product_attribute", (r.intent, r.reply)
    assert sources(r, "product") == {"K100", "K101"}, r.reply
    assert "22cm" in r.reply and "25cm" in r.reply and "矮3cm" in r.reply, r.reply
    r = chat("和1.8L那款比 重多少")
    assert "1.1kg" in r.reply and "1.3kg" in r.reply and "轻0.2kg" in r.reply, r.reply


def test_an_attribute_is_read_before_the_description_and_a_missing_one_is_said(runtime):
    chat = Chat(runtime, "sib-2")
    r = chat("整理家收纳箱小号多少钱")
    assert "39" in r.reply, r.reply
    r = chat("跟大号的比 高多少")  # 18cm from the small box's attributes, 30cm from the large one's description
    assert r.intent == "product_attribute" and sources(r, "product") == {"B100", "B101"}, r.reply
    assert "18cm" in r.reply and "30cm" in r.reply and "矮12cm" in r.reply, r.reply
    r = chat("跟大号的比 长多少")  # the large box states no length: said, not guessed
    assert "40cm" in r.reply and "没有写明长度" in r.reply, r.reply
    assert "短" not in r.reply.split("\n")[0], r.reply


def test_a_fragment_naming_the_products_own_variant_stays_with_it(runtime):
    chat = Chat(runtime, "sib-3")
    r = chat("踏云轻跑鞋多少钱")
    assert "踏云" in r.reply, r.reply
    r = chat("跟40码的比哪个划算")
    assert r.intent == "product_attribute", (r.intent, r.reply)
    assert sources(r, "product") == {"S100"}, r.reply
    assert sources(r, "variant") == {"S100-40", "S100-41"}, r.reply
    assert "279" in r.reply and "299" in r.reply, r.reply
