"""Each normalisation rule on the shopper spellings it exists for."""

from __future__ import annotations

import pytest

from retrieval.normalize import (
    color_aliases,
    find_order_ids,
    find_patterns,
    find_phones,
    find_sizes,
    fold,
    model_key,
    normalize_color,
    normalize_size,
    pinyin_key,
    to_half_width,
)


def test_full_width_to_half_width_keeps_length():
    text = "ＸＬ码！　Ｐｒｏ１５？"
    out = to_half_width(text)
    assert out == "XL码! Pro15?"
    assert len(out) == len(text)
    assert fold("ＩＰＨＯＮＥ") == "iphone"


@pytest.mark.parametrize("spelling", ["iPhone 15 Pro", "IPHONE 15PRO", "iphone15pro", "ｉＰｈｏｎｅ１５ Ｐｒｏ"])
def test_model_numbers_share_one_key(spelling):
    assert model_key(spelling) == "iphone15pro"


@pytest.mark.parametrize(("word", "size"), [
    ("加大号", "XL"), ("加大码", "XL"), ("特大号", "XXL"), ("大号", "L"), ("中号", "M"), ("小号", "S"),
    ("均码", "均码"), ("free size", "均码"), ("FREE SIZE", "均码"), ("37码", "37"), ("42号", "42"),
    ("xl码", "XL"), ("ＸＬ", "XL"), ("2xl", "XXL"), ("xxl", "XXL"),
])
def test_colloquial_sizes(word, size):
    assert normalize_size(word) == size


@pytest.mark.parametrize("word", ["红色", "大码", "37", "xl15", "多大"])
def test_non_sizes_are_not_sizes(word):
    assert normalize_size(word) is None


def test_find_sizes_in_a_message():
    found = find_sizes("加大号和37码都要 再来个M的")
    assert [(m.value, m.text) for m in found] == [("XL", "加大号"), ("37", "37码"), ("M", "M")]
    # the L of 5L and the M of 46mm are not sizes; 穿多大码 asks for advice
    assert find_sizes("5L空气炸锅 46mm表盘 我穿多大码") == []


CATALOGUE_COLORS = ["红色", "酒红色", "藏青色", "黑色", "白色", "浅灰色"]


@pytest.mark.parametrize(("word", "color"), [
    ("酒红", "酒红色"), ("枣红", "酒红色"), ("大红", "红色"), ("红的", "红色"),
    ("藏青", "藏青色"), ("深蓝", "藏青色"), ("海军蓝", "藏青色"), ("黑的", "黑色"), ("浅灰", "浅灰色"),
    ("黑色", "黑色"),
])
def test_colour_synonyms_map_to_catalogue_values(word, color):
    assert normalize_color(word, CATALOGUE_COLORS) == color


def test_colour_synonyms_follow_the_catalogue():
    # without 酒红色 in the catalogue, 枣红 falls back to plain red; without any red, nothing
    assert normalize_color("枣红", ["红色"]) == "红色"
    assert normalize_color("枣红", ["黑色"]) is None
    # deep blue prefers 深蓝色 when the catalogue has it
    assert color_aliases(["深蓝色", "藏青色"])["深蓝"] == "深蓝色"


def test_pinyin_key_catches_homophones_and_typed_pinyin():
    assert pinyin_key("星耀 X15") == pinyin_key("星曜x15") == pinyin_key("xingyao X15") == "xingyaox15"
    assert pinyin_key("连衣裙") == pinyin_key("连衣群") == "lianyiqun"


def test_order_ids_plain_and_grouped():
    assert [m.value for m in find_order_ids("订单2026100173505619到哪了")] == ["2026100173505619"]
    found = find_order_ids("单号 2026 1001 7350 5619 谢谢")
    assert [(m.value, m.text) for m in found] == [("2026100173505619", "2026 1001 7350 5619")]
    assert find_order_ids("20261001735056190") == []  # 17 digits is not an order id
    assert find_order_ids("１２３４５６７８９０１２３４５６")[0].value == "1234567890123456"


def test_phones_and_last_four():
    found = find_phones("手机138 1234 5678 尾号是5678")
    assert [(m.type, m.value) for m in found] == [("phone", "13812345678"), ("phone_last4", "5678")]
    assert [m.value for m in find_phones("手机后四位0427")] == ["0427"]
    assert find_phones("12812345678") == []  # no mobile prefix 12
    assert find_phones("价格1999元") == []


def test_patterns_prefer_order_ids_over_phones_inside_them():
    found = find_patterns("订单1381234567812345")
    assert [(m.type, m.value) for m in found] == [("order_id", "1381234567812345")]
