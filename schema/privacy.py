"""Masking of shoppers' personal data, shared by the logs (``qa_api.logging_setup``,
``ops.logpipe``) and the analytics event store (``dialog.events``).

``mask(text)`` hides mobile numbers (``138****5678``), the street part of
Chinese addresses (``浙江省杭州市西湖区***``), order numbers (any run of
8 or more digits, last four kept), e-mail addresses (``z***@example.com``) and contact ids given
after 微信/QQ/wx (``微信: ***``). ``mask_event_text`` also hides a bare group of
four digits (the last four digits of a phone a shopper types to open an order,
and the tails ``mask`` keeps), for stores that keep messages longer than a log
line lives.
"""

from __future__ import annotations

import re
from typing import Any

# Order numbers of any store's scheme: a run of 8 or more digits (after any letter prefix), last four kept.
_ORDER = re.compile(r"(?<!\d)(\d{4,})(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_CONTACT = re.compile(r"((?:微信号?|vx|VX|wx|WX|QQ|qq)\s*(?:号)?\s*[:：是为]?\s*)[A-Za-z0-9_-]{5,30}")
# Four digits on their own (a phone tail, also the tail kept by ``mask``), but not an amount, a year or a size.
_LAST4 = re.compile(r"(?<![\dA-Za-z.])\d{4}(?![\dA-Za-z.]|\s*(?:元|块|件|个|年|月|日|斤|克|米|毫升|ml|cm|mm|kg))")
# One or more administrative divisions, then the detailed part of the address.
_DIVISIONS = r"(?:[\u4e00-\u9fff]{1,10}?(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|旗))+"
_DETAIL = r"[\u4e00-\u9fff0-9A-Za-z\-#－—()（）]{2,60}"
_ADDRESS = re.compile(f"({_DIVISIONS})({_DETAIL})")
_ADDRESS_MARKERS = re.compile(r"[0-9路街道巷弄号栋幢单元室楼村镇乡组苑园庄屯]|小区|大厦|公寓|花园|广场|中心")


def _mask_address(match: re.Match[str]) -> str:
    prefix, detail = match.group(1), match.group(2)
    if not _ADDRESS_MARKERS.search(detail):
        return match.group(0)
    return prefix + "***"


def mask(text: str) -> str:
    """Hide order numbers, mobile numbers, street addresses, e-mail addresses and chat contact ids."""
    if not text:
        return text
    text = _PHONE.sub(r"\1****\2", text)
    text = _ORDER.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _CONTACT.sub(r"\1***", text)
    return _ADDRESS.sub(_mask_address, text)


def mask_event_text(text: str) -> str:
    """``mask`` plus bare four-digit groups (phone tails typed for order verification)."""
    if not text:
        return text
    return _LAST4.sub("****", mask(text))


def masked(value: Any) -> Any:
    """``value`` with ``mask`` applied to every string inside it (dicts and lists recursively)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask(str(value))
