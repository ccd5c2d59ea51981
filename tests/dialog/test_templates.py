"""Reply templates: every key renders, variation is deterministic per seed."""

from __future__ import annotations

import json

import pytest

from dialog.templates import DEFAULT_PATH, TemplateError, Templates


def test_variation_is_deterministic_and_varies_across_sessions():
    t = Templates()
    assert t.render("greeting", "s1:0") == t.render("greeting", "s1:0")
    seen = {t.render("greeting", f"s{i}:0") for i in range(30)}
    assert len(seen) > 1


def test_missing_slot_and_missing_key_are_named():
    t = Templates()
    with pytest.raises(TemplateError, match="needs slot 'stock'"):
        t.render("stock_variant", "x", product="A", variant="红色 L")
    with pytest.raises(TemplateError, match="no template 'nope'"):
        t.render("nope")


def test_malformed_template_file_is_rejected(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"greeting": []}), encoding="utf-8")
    with pytest.raises(TemplateError, match="greeting"):
        Templates(bad)


def test_shipped_templates_are_chinese_and_nonempty():
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert len(data) >= 40
    for key, variants in data.items():
        for text in variants:
            assert text.strip(), key
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text) or text == "{answer}" or text == "{when}", key
