"""Chat noise out, service-word homophones corrected: what the understanding models read."""

from __future__ import annotations

import pytest

from retrieval.chat_text import IMAGE_TOKEN, LINK_TOKEN, ORDER_TOKEN, ChatCleaner, strip_chat_noise


@pytest.fixture(scope="module")
def cleaner() -> ChatCleaner:
    c = ChatCleaner()
    c.warm_up()
    return c


def test_order_cards_links_placeholders_and_emoji_become_features():
    m = strip_chat_noise("[订单编号:5512009988776655]\n怎么还没动😭😭")
    assert m.text == f"{ORDER_TOKEN} 怎么还没动" and m.order_numbers == ("5512009988776655",)
    assert m.emoji == ("😭😭",)
    m = strip_chat_noise("https://shop.example.com/item?id=42 这个有货吗 [图片]")
    assert m.text == f"{LINK_TOKEN} 这个有货吗 {IMAGE_TOKEN}" and m.links >= 1 and m.images == 1
    m = strip_chat_noise("订单号：3345-6677-8899-0011 发了没")
    assert m.order_numbers == ("3345667788990011",) and ORDER_TOKEN in m.text
    assert strip_chat_noise("退款多久到").text == "退款多久到"  # clean text passes through


@pytest.mark.parametrize(("typed", "meant"), [
    ("发活了吗", "发货了吗"), ("宝修多久", "保修多久"), ("发漂怎么开", "发票怎么开"),
    ("包游吗", "包邮吗"), ("快第到哪了", "快递到哪了"), ("物留不动了", "物流不动了"), ("价宝怎么弄", "价保怎么弄"),
])
def test_homophone_typos_of_service_words(cleaner, typed, meant):
    assert cleaner.clean(typed).text == meant


@pytest.mark.parametrize("text", ["在马路上捡的", "别跟我发火", "我已经报修了", "衣服很漂亮", "保佑快点到"])
def test_real_words_are_left_alone(cleaner, text):
    assert cleaner.clean(text).text == text and not cleaner.clean(text).corrections


def test_batch_keeps_a_message_that_is_only_noise(cleaner):
    assert cleaner.texts(["😊", "[链接]"]) == ["😊", LINK_TOKEN]
