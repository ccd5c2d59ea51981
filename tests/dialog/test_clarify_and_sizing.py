"""Fragment answers to a clarifying question, and size tables parsed from free
text: general-language rules applied to option texts and tables written here."""

from __future__ import annotations

import pytest

from dialog.clarify import OptionText, resolve_fragment
from dialog.sizing import (
    asks_for_size,
    offers,
    parse_fit,
    parse_measures,
    parse_table,
    recommend,
    shifted_size,
)

BAGS = [OptionText("甲牌 单人睡袋", ("单人",), 199.0), OptionText("甲牌 双人睡袋", ("双人",), 299.0)]
CUPS = [OptionText("乙牌 保温杯 500ml", ("500ml",), 89.0), OptionText("乙牌 保温杯 750ml", ("750ml",), 109.0)]
SHOES = [OptionText("丙牌 跑鞋3 男款", ("黑色", "白色"), 299.0), OptionText("丙牌 跑鞋4 女款", ("粉色", "白色"), 399.0)]


@pytest.mark.parametrize(("text", "options", "index"), [
    ("双人的", BAGS, 1), ("单人那个", BAGS, 0), ("贵的那个", BAGS, 1), ("便宜的", CUPS, 0),
    ("750的", CUPS, 1), ("要500", CUPS, 0), ("大的那个", CUPS, 1), ("小的", CUPS, 0),
    ("男款 黑色", SHOES, 0), ("女款", SHOES, 1), ("第二个", SHOES, 1), ("最后一个", CUPS, 1),
])
def test_fragment_singles_out_one_option(text, options, index):
    assert resolve_fragment(text, options) == index


@pytest.mark.parametrize(("text", "options"), [
    ("白色", SHOES),            # both have it
    ("大的", BAGS),             # no size to compare
    ("第三个", BAGS),           # out of range
    ("这两款有什么区别呢能详细介绍一下吗", BAGS),  # a new question, not a fragment
])
def test_no_single_option_means_no_choice(text, options):
    assert resolve_fragment(text, options) is None


def test_range_table_and_point_table():
    rows = parse_table("110码适合身高100-110cm，120码适合身高110-120cm，130码适合身高120-130cm")
    assert [r.size for r in rows] == ["110", "120", "130"]
    assert recommend(rows, {"height": 115.0})[0] == "120"
    points = parse_table("一般身高160cm、体重100斤左右选S，165cm、110斤左右选M，170cm、120斤左右选L")
    size, used = recommend(points, parse_measures("165 110斤穿多大"))
    assert size == "M" and used[0].text.startswith("165cm")


def test_size_first_rows_and_weights_in_jin():
    rows = parse_table("S码：体重80-100斤；M码：体重100-120斤；L码：体重120-140斤")
    assert recommend(rows, parse_measures("我130斤"))[0] == "L"


def test_measures():
    assert parse_measures("孩子身高120穿多大") == {"height": 120.0}
    assert parse_measures("1米7 130斤") == {"height": 170.0, "weight": 65.0}
    assert parse_measures("脚长25cm拍几码") == {"foot": 25.0}
    assert parse_measures("平时穿39码 这款选几码") == {"usual": "39"}


def test_fit_note_moves_the_usual_size():
    note = parse_fit("版型偏小半码，建议拍大半码。")
    assert note.offset == 0.5
    assert shifted_size("39", note, ["38", "39", "39.5", "40"]) == "39.5"
    assert shifted_size("39", note, ["38", "39", "40"]) == "40"
    assert parse_fit("鞋子偏大一码").offset == -1.0
    assert parse_fit("这款没有说明") is None


def test_asking_for_a_size_is_told_from_naming_one():
    assert asks_for_size("孩子7岁买多大的") and asks_for_size("尺码表发一下") and asks_for_size("平时39这款拿几码")
    assert not asks_for_size("26寸的呢") and not asks_for_size("XL的还有吗")


def test_open_ranges_below_and_above():
    rows = parse_table("身高120cm以下选14寸；身高120cm以上选18寸")
    assert recommend(rows, {"height": 110.0})[0] == "14寸"
    assert recommend(rows, {"height": 131.0})[0] == "18寸"


def test_a_recommended_size_is_matched_with_the_products_own_values():
    assert offers(["36寸", "39寸"], "36寸") and offers(["36寸"], "36") and offers(["L码"], "L")
    assert not offers(["36寸", "39寸"], "34寸") and not offers(["M"], "XM") and not offers(["38.5"], "38")
