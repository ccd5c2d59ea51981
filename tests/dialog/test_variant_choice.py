"""Which variants of one product a shopper's words name (data made up here)."""

from __future__ import annotations

from dialog.policies.variant_choice import chosen_variants, variants_named_in
from schema.types import VariantInfo


def v(sku: str, stock: int = 1, **attributes: str) -> VariantInfo:
    return VariantInfo(sku=sku, product_id="T-1", stock=stock, price=10.0, attributes=attributes)


UKE = [v("A", 规格="21寸", 颜色="樱花粉"), v("B", 规格="21寸", 颜色="象牙白"), v("C", 0, 规格="23寸", 颜色="樱花粉")]
TEA = [v("single", 规格="单饼357g"), v("box", 规格="整提7饼")]


def test_attribute_words_pick_the_products_own_values():
    assert [x.sku for x in chosen_variants(UKE, {"color": "粉的"})] == ["A", "C"]        # 粉 -> 樱花粉
    assert [x.sku for x in chosen_variants(UKE, {"color": "粉", "size": "23"})] == ["C"]  # number -> 23寸
    assert [x.sku for x in chosen_variants(UKE, {"color": ("紫色", "白")})] == ["B"]      # the first alternative that hits
    assert [x.sku for x in chosen_variants(UKE, {"color": "紫色"})] == ["A", "B", "C"]    # no such value: no narrowing


def test_a_part_of_a_value_in_the_message_names_the_variant():
    assert [x.sku for x in variants_named_in("熟茶整提多少钱", TEA)] == ["box"]
    assert [x.sku for x in chosen_variants(TEA, {}, "熟茶整提多少钱 能减多少")] == ["box"]
    assert variants_named_in("熟茶多少钱", TEA) == []
    # A word every variant holds narrows nothing; one-character runs never count.
    assert variants_named_in("樱花粉的多少钱", [x for x in UKE if x.attributes["颜色"] == "樱花粉"]) == []
    assert variants_named_in("7饼多少", TEA) == []
