"""A shopper's colour, size and option words mapped onto one product's own values."""

from __future__ import annotations

import json

import pytest

from retrieval.variant_match import VariantMatchError, family_members, load_color_families, match_values


def _values(word, values):
    return [(m.value, m.how) for m in match_values(word, values)]


@pytest.mark.parametrize(("word", "values", "expected"), [
    ("灰色", ["晨雾黑", "太空灰", "冰川蓝"], [("太空灰", "contains")]),
    ("蓝的", ["冰川蓝", "珍珠白"], [("冰川蓝", "contains")]),
    ("白的", ["冰川蓝", "珍珠白"], [("珍珠白", "contains")]),
    ("咖啡色", ["焦褐色", "纯黑"], [("焦褐色", "family")]),
    ("银色", ["钛灰", "香槟金"], [("钛灰", "family")]),
    ("750的", ["500ml", "750ml"], [("750ml", "number")]),
    ("26寸的", ["23寸", "26寸"], [("26寸", "exact")]),
    ("大号", ["S", "M", "L", "XL"], [("L", "size")]),
    ("xl码", ["L码", "XL码"], [("XL码", "exact")]),
    ("加大号", ["L码", "XL码"], [("XL码", "size")]),
    ("紫色", ["黑色", "白色"], []),
])
def test_tiers(word, values, expected):
    assert _values(word, values) == expected


def test_main_family_comes_first_and_ties_are_all_returned():
    fams = load_color_families()
    assert fams.of("银灰") == ("grey", "silver") and fams.of("藏青色")[0] == "blue"
    assert [m.value for m in match_values("灰色", ["银灰", "深灰"])] == ["银灰", "深灰"]
    assert family_members("银色", ["银灰", "香槟金", "亮银"]) == ("亮银", "银灰")


def test_pinyin_and_typos():
    assert _values("虹色", ["红色", "黑色"])[0][0] == "红色"
    assert _values("月光白色", ["月光白", "深夜黑"])[0] == ("月光白", "exact")
    assert _values("星辰紫", ["星尘紫", "晨曦金"])[0][0] == "星尘紫"


def test_malformed_family_file_is_named(tmp_path):
    bad = tmp_path / "families.json"
    bad.write_text(json.dumps({"families": [{"name": "red", "words": ["红色"], "hues": []}]}), encoding="utf-8")
    with pytest.raises(VariantMatchError, match=r"families\[0\]\.hues"):
        load_color_families(bad)


def test_a_value_named_by_a_distinctive_part():
    from retrieval.variant_match import mentioned_values

    offered = {"车型": ["长安逸动经典版", "吉利星瑞", "吉利博越"], "颜色": ["岩石黑", "云雾白"]}
    assert mentioned_values("逸动的还有吗", offered) == {"车型": "长安逸动经典版"}
    assert mentioned_values("星瑞 黑色", offered) == {"车型": "吉利星瑞"}
    assert mentioned_values("吉利的有吗", offered) == {}  # 吉利 is shared by two values: no choice
    assert mentioned_values("黑的", offered) == {}  # one character is no mention
