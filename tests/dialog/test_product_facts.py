"""Product facts from the store's own data, on a store generated here: a quantity in
Chinese units names the variant that states it, a category and a part of a variant
value name the product, a sold-out variant offers the others by name (no counts),
有哪些 + an option name asks about the product named (no search), 带…吗 is answered
from the bundle variants, a model the product does not fit offers the universal
product of its category, and a usage question is answered from the product's own FAQ.
Real Neo4j, real e5 models, real Redis, assembled by ``dialog.runtime.build_runtime``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dialog.runtime import Runtime
from tests.generated_store import Chat, GeneratedStore, generated_runtime, sources

pytestmark = pytest.mark.slow


def _v(sku: str, stock: int, price: float, **attrs: str) -> dict:
    return {"sku": sku, "attributes": attrs, "stock": stock, "price": price}


PRODUCTS = [
    {"product_id": "HN-01", "name": "山禾 纸皮核桃", "brand": "山禾", "category": "食品/坚果/核桃", "price": 39.0,
     "description": "新疆纸皮核桃，手捏即开。", "aliases": ["核桃"],
     "variants": [_v("HN-01-S", 12, 39.0, 规格="250g"), _v("HN-01-L", 0, 69.0, 规格="500g（250g×2袋）")]},
    {"product_id": "HN-02", "name": "山禾 核桃仁礼盒", "brand": "山禾", "category": "食品/坚果/核桃", "price": 88.0,
     "description": "去壳核桃仁，礼盒装。", "variants": [_v("HN-02-1", 5, 88.0, 规格="礼盒装300g")]},
    {"product_id": "HN-10", "name": "行者 真皮方向盘套", "brand": "行者", "category": "汽车用品/内饰/方向盘套",
     "price": 99.0, "description": "头层牛皮，手缝。",
     "variants": [_v("HN-10-A", 4, 99.0, 适用车型="大众帕萨特B8"), _v("HN-10-B", 6, 99.0, 适用车型="别克君越 2019款"),
                  _v("HN-10-C", 0, 99.0, 适用车型="日产天籁")]},
    {"product_id": "HN-11", "name": "行者 麂皮绒通用方向盘套", "brand": "行者", "category": "汽车用品/内饰/方向盘套",
     "price": 59.0, "description": "弹力内圈，适合直径36-38cm的方向盘。",
     "variants": [_v("HN-11-K", 8, 59.0, 颜色="黑色"), _v("HN-11-R", 2, 59.0, 颜色="酒红")]},
    {"product_id": "HN-12", "name": "行者 防滑汽车脚垫", "brand": "行者", "category": "汽车用品/内饰/脚垫",
     "price": 199.0, "variants": [_v("HN-12-A", 3, 199.0, 适用车型="比亚迪汉")]},
    {"product_id": "HN-20", "name": "望远 户外望远镜 10倍", "brand": "望远", "category": "户外/观景/望远镜",
     "price": 199.0, "description": "10倍放大，防水。",
     "variants": [_v("HN-20-A", 0, 199.0, 套餐="标准版（不含三脚架）"), _v("HN-20-B", 7, 259.0, 套餐="标准版+三脚架")]},
    {"product_id": "HN-30", "name": "溪谷 陶瓷手冲咖啡壶", "brand": "溪谷", "category": "家居/咖啡器具/手冲壶",
     "price": 129.0, "description": "细长壶嘴，出水稳定。",
     "variants": [_v("HN-30-W", 9, 129.0, 颜色="月白"), _v("HN-30-G", 3, 129.0, 颜色="青灰"),
                  _v("HN-30-B", 0, 129.0, 颜色="墨黑")]},
]
FAQ = [
    {"faq_id": "HF-1", "question": "手冲咖啡壶第一次使用前要怎么处理？",
     "answer": "第一次使用前用温水加少量小苏打浸泡20分钟，再用清水冲洗三遍就可以了。",
     "paraphrases": ["新壶怎么清洗", "第一次用要煮一下吗"], "about": {"product_id": "HN-30"}},
    {"faq_id": "HF-2", "question": "核桃怎么保存？", "answer": "开袋后请密封冷藏，建议一个月内吃完。",
     "paraphrases": ["核桃放久了会不会坏"], "about": {"product_id": "HN-01"}},
    {"faq_id": "HF-4", "question": "真皮方向盘套好安装吗？",
     "answer": "不用工具，套上后沿缝线穿针手缝，新手大约30分钟能装好。",
     "paraphrases": ["方向盘套怎么装"], "about": {"product_id": "HN-10"}},
    {"faq_id": "HF-3", "question": "默认发什么快递？", "answer": "默认发韵达快递，偏远地区发邮政。",
     "paraphrases": ["用哪家快递"]},
]


@pytest.fixture(scope="module")
def runtime(driver, settings, encoder, intent_classifier, emotion_scorer, redis_server,
            tmp_path_factory) -> Iterator[Runtime]:
    with generated_runtime(GeneratedStore(PRODUCTS, FAQ), tmp_path_factory.mktemp("facts-store"),
                           driver=driver, settings=settings, encoder=encoder, classifier=intent_classifier,
                           emotion=emotion_scorer, redis_url=redis_server.url, prefix="pf") as rt:
        yield rt


def _products(reply) -> set[str]:
    return sources(reply, "product")


def test_a_quantity_in_chinese_units_names_the_variant(runtime):
    r = Chat(runtime, "qty-1")("核桃半斤装有货吗")
    assert _products(r) == {"HN-01"} and "12" in r.reply, r.reply
    r = Chat(runtime, "qty-2")("核桃六两的还有吗")  # 300g: the gift box
    assert _products(r) == {"HN-02"} and "5" in r.reply, r.reply


def test_a_category_and_a_part_of_a_value_name_the_product(runtime):
    r = Chat(runtime, "fit-1")("君越的方向盘套还有吗")
    assert _products(r) == {"HN-10"} and "6" in r.reply, r.reply


def test_does_a_product_fit_a_model_is_answered_for_that_model_not_from_a_size_table(runtime):
    r = Chat(runtime, "fit-3")("行者真皮方向盘套君越用着合适吗")
    assert _products(r) == {"HN-10"} and "6" in r.reply and "尺码表" not in r.reply, r.reply


def test_a_sold_out_variant_offers_the_others_by_name_without_counts(runtime):
    r = Chat(runtime, "sold-1")("行者真皮方向盘套天籁的还有吗")
    assert "天籁" in r.reply and ("售罄" in r.reply or "没货" in r.reply), r.reply
    assert "帕萨特" in r.reply and "君越" in r.reply, r.reply
    assert "4件" not in r.reply and "6件" not in r.reply, r.reply


def test_a_model_the_product_does_not_fit_offers_a_universal_one_of_its_category(runtime):
    r = Chat(runtime, "fit-2")("行者真皮方向盘套能配比亚迪汉吗")
    assert "比亚迪汉" in r.reply and "没有" in r.reply, r.reply
    assert "通用方向盘套" in r.reply and "HN-11" in _products(r), r.reply
    assert "脚垫" not in r.reply, r.reply  # another category is no alternative


def test_which_options_of_a_named_product_is_no_search(runtime):
    r = Chat(runtime, "opts-1")("溪谷陶瓷手冲咖啡壶有哪些颜色")
    assert _products(r) == {"HN-30"}, r.reply
    assert all(c in r.reply for c in ("月白", "青灰", "墨黑")), r.reply


def test_does_a_bundle_include_a_thing_is_answered_from_the_variants(runtime):
    chat = Chat(runtime, "bundle-1")
    chat("望远户外望远镜多少钱")
    r = chat("带三脚架吗")
    assert "标准版+三脚架" in r.reply and "259" in r.reply, r.reply


def test_a_usage_question_is_answered_from_the_products_own_faq(runtime):
    r = Chat(runtime, "faq-1")("溪谷手冲咖啡壶第一次用要怎么处理")
    assert "小苏打" in r.reply, r.reply
    r = Chat(runtime, "faq-2")("溪谷陶瓷手冲咖啡壶是什么材质的")  # its one FAQ is on another topic
    assert "小苏打" not in r.reply, r.reply


def test_a_short_follow_up_is_answered_from_the_faq_of_the_product_discussed(runtime):
    chat = Chat(runtime, "faq-3")
    chat("行者真皮方向盘套多少钱")
    r = chat("好装吗")
    assert "30分钟" in r.reply, r.reply
