"""Quantities in Chinese and metric units read as amounts (半斤 = 250 g), from the general unit data."""

from __future__ import annotations

import json

import pytest

from retrieval.quantity import QuantityError, load_units


@pytest.mark.parametrize(("text", "amount", "dimension"), [
    ("半斤装的", 250.0, "mass"), ("要一斤", 500.0, "mass"), ("二两", 100.0, "mass"), ("两斤", 1000.0, "mass"),
    ("一斤半", 750.0, "mass"), ("1.5斤", 750.0, "mass"), ("1公斤", 1000.0, "mass"), ("三两装", 150.0, "mass"),
    ("500g", 500.0, "mass"), ("500 克", 500.0, "mass"), ("1L的", 1000.0, "volume"), ("350毫升", 350.0, "volume"),
])
def test_quantities_in_any_unit_become_base_amounts(text, amount, dimension):
    found = load_units().find(text)
    assert [(q.amount, q.dimension) for q in found] == [(amount, dimension)]


@pytest.mark.parametrize("text", ["一两天能到吗", "256gb的", "两个", "买两件", "发了两次"])
def test_counts_and_storage_are_no_weights(text):
    assert load_units().find(text) == []


def test_a_value_states_its_first_amount():
    units = load_units()
    assert units.first("礼品装300g").amount == 300.0
    assert units.first("200g（100g×2袋）").amount == 200.0
    assert units.first("原味") is None


def test_malformed_unit_data_is_named(tmp_path):
    path = tmp_path / "units.json"
    path.write_text(json.dumps({"units": {"斤": ["mass", -1]}, "numerals": {"一": 1}}), encoding="utf-8")
    with pytest.raises(QuantityError, match="units.斤"):
        load_units(path)
