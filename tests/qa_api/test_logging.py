"""Masking of personal data and the JSON log formatters."""

from __future__ import annotations

import io
import json
import logging

import pytest

from qa_api.logging_setup import JsonAccessFormatter, JsonFormatter, configure_logging, mask


@pytest.mark.parametrize(("text", "expected"), [
    ("我的手机13812345678", "我的手机138****5678"),
    ("电话:+86 13912345678。", "电话:+86 139****5678。"),
    ("订单1234567890123456到哪了", "订单************3456到哪了"),
    # Any store's order scheme (and an 18-digit ID card number): 8 or more digits, the last four kept.
    ("订单123456789012", "订单********9012"),
    ("单号SO20261201000123", "单号SO**********0123"),
    ("身份证123456789012345678", "身份证**************5678"),
    ("地址是浙江省杭州市西湖区文三路90号3幢", "地址是浙江省杭州市西湖区***"),
    ("寄到广东省深圳市南山区科技园", "寄到广东省深圳市南山区***"),
    ("收货地址：四川省成都市武侯区人民南路四段1号，谢谢", "收货地址：四川省成都市武侯区***，谢谢"),
    ("北京市朝阳区望京SOHO塔1", "北京市朝阳区***"),
])
def test_mask_hides_personal_data(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "这两个有什么区别", "我在上海市，想问下", "区别大吗 市场价多少", "XL码有货吗", "12345", "1234567", "2026-12-01",
    "价格是199元", "",
])
def test_mask_leaves_ordinary_text_alone(text):
    assert mask(text) == text


def test_mask_keeps_phone_numbers_apart_from_longer_digit_runs():
    assert mask("x13812345678x") == "x138****5678x"
    assert mask("138123456789") == "********6789"  # 12 digits: not a phone, an id


def _format(formatter, record) -> dict:
    return json.loads(formatter.format(record))


def test_json_formatter_masks_message_args_extras_and_exceptions():
    logger = logging.getLogger("test.masking")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("shopper %s sent 订单%s", "13812345678", "1234567890123456",
                       extra={"address": "浙江省杭州市西湖区文三路90号", "session_id": "s1"})
        try:
            raise ValueError("bad phone 13987654321")
        except ValueError:
            logger.exception("failed for 13987654321")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "shopper 138****5678 sent 订单************3456"
    assert first["address"] == "浙江省杭州市西湖区***" and first["session_id"] == "s1"
    assert first["level"] == "WARNING" and first["logger"] == "test.masking"
    assert "13987654321" not in json.dumps(second, ensure_ascii=False)
    assert "139****4321" in second["exc"] and "ValueError" in second["exc"]


def test_access_formatter_writes_structured_masked_fields():
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s", None, None)
    record.args = {"h": "127.0.0.1", "m": "GET", "U": "/v1/sessions/13812345678", "q": "", "s": 200,
                   "B": 12, "D": 1500, "a": "curl", "p": "<123>"}
    data = _format(JsonAccessFormatter(), record)
    assert data["path"] == "/v1/sessions/138****5678"
    assert (data["method"], data["status"], data["duration_ms"]) == ("GET", 200, 1.5)


def test_configure_logging_is_idempotent():
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    for h in before:  # start from a root logger without a JSON handler
        if isinstance(h.formatter, JsonFormatter):
            root.removeHandler(h)
    try:
        configure_logging("INFO")
        configure_logging("DEBUG")
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and isinstance(added[0].formatter, JsonFormatter)
        assert root.level == logging.DEBUG
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
        for h in before:
            if h not in root.handlers:
                root.addHandler(h)
        root.setLevel(level)
