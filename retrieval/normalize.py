"""Shopper-text normalisation rules, each a small pure function.

Owns: turning the way shoppers type into the values the catalogue stores:
full-width to half-width, model-number keys (``iPhone 15 Pro`` ==
``iphone15pro``), colloquial sizes (加大号 -> XL), colour synonyms (枣红 ->
the catalogue's red), pinyin keys for product names, and pattern-based
order numbers and phone numbers. Nothing here knows the graph: colour
mapping takes the catalogue's colour values as an argument.

Rules that rewrite characters keep string length (one output character per
input character) so that offsets found in normalised text point into the
shopper's original message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# --- characters ----------------------------------------------------------------


def to_half_width(text: str) -> str:
    """Full-width ASCII (Ｘ１５，！) and the ideographic space to half-width; length-preserving.

    >>> to_half_width("ＸＬ码！　")
    'XL码! '
    """
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def fold(text: str) -> str:
    """Half-width plus case-folding (ASCII lower case); length-preserving."""
    return to_half_width(text).lower()


_SPACES = re.compile(r"\s+")


def model_key(text: str) -> str:
    """A comparison key for model numbers and names: half-width, lower case, no spaces.

    >>> model_key("iPhone 15 Pro") == model_key("IPHONE 15PRO") == model_key("iphone15pro")
    True
    """
    return _SPACES.sub("", fold(text))


# --- sizes -----------------------------------------------------------------------

# Colloquial size words -> canonical size, longest first so 加大号 wins over 大号.
# 大码 is left out on purpose: 穿多大码 asks for advice and names no size.
SIZE_WORDS: tuple[tuple[str, str], ...] = (
    ("加加大号", "XXL"), ("加加大码", "XXL"), ("特大号", "XXL"), ("特大码", "XXL"),
    ("加大号", "XL"), ("加大码", "XL"), ("大号", "L"),
    ("中号", "M"), ("中码", "M"), ("小号", "S"), ("小码", "S"),
    ("free size", "均码"), ("freesize", "均码"), ("均码", "均码"), ("f码", "均码"),
)
_LETTER_SIZE = re.compile(r"(?<![a-z0-9])(xxxl|3xl|xxl|2xl|xl|xs|s|m|l)(?:码|号)?(?![a-z0-9])")
_LETTER_CANON = {"xxxl": "XXXL", "3xl": "XXXL", "xxl": "XXL", "2xl": "XXL", "xl": "XL",
                 "xs": "XS", "s": "S", "m": "M", "l": "L"}
_NUMERIC_SIZE = re.compile(r"(?<!\d)(\d{2}(?:\.5)?)\s?(?:码|号)")


def normalize_size(word: str) -> str | None:
    """One size word to its canonical value, or None when it is not a size.

    >>> [normalize_size(w) for w in ("加大号", "特大号", "xl码", "37码", "均码", "红色")]
    ['XL', 'XXL', 'XL', '37', '均码', None]
    """
    w = model_key(word)
    for surface, canon in SIZE_WORDS:
        if w == model_key(surface):
            return canon
    m = _LETTER_SIZE.fullmatch(w)
    if m:
        return _LETTER_CANON[m.group(1)]
    m = _NUMERIC_SIZE.fullmatch(w)
    if m:
        return m.group(1)
    return None


@dataclass(frozen=True)
class Match:
    """A pattern found in a message: [start, end) into the original text."""

    type: str
    value: str
    start: int
    end: int
    text: str


def find_sizes(text: str) -> list[Match]:
    """Colloquial, letter (``XL码``, ``xl``) and numeric (``37码``) sizes in a message.

    Bare letters count only as whole ASCII tokens; bare numbers need 码/号.
    """
    folded = fold(text)
    found: list[Match] = []
    taken = [False] * len(text)
    for surface, canon in SIZE_WORDS:
        for m in re.finditer(re.escape(surface), folded):
            if not any(taken[m.start():m.end()]):
                found.append(Match("size", canon, m.start(), m.end(), text[m.start():m.end()]))
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
    for pattern, conv in ((_LETTER_SIZE, lambda g: _LETTER_CANON[g]), (_NUMERIC_SIZE, str)):
        for m in pattern.finditer(folded):
            if not any(taken[m.start():m.end()]):
                found.append(Match("size", conv(m.group(1)), m.start(), m.end(),
                                   text[m.start():m.end()]))
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
    return sorted(found, key=lambda x: x.start)


# --- colours ---------------------------------------------------------------------

# Shopper words -> preferred catalogue colours, best first; the first one the
# catalogue actually has wins (see color_aliases).
COLOR_SYNONYMS: dict[str, tuple[str, ...]] = {
    "酒红": ("酒红色", "红色"), "枣红": ("酒红色", "红色"), "大红": ("红色", "酒红色"),
    "红的": ("红色", "酒红色"), "正红": ("红色",), "中国红": ("红色",),
    "藏青": ("藏青色", "深蓝色"), "深蓝": ("深蓝色", "藏青色"), "海军蓝": ("藏青色", "深蓝色"),
    "宝蓝": ("深蓝色", "藏青色"), "蓝的": ("蓝色", "深蓝色", "浅蓝色"),
    "浅蓝": ("浅蓝色", "天蓝色"), "天蓝": ("天蓝色", "浅蓝色"),
    "黑的": ("黑色",), "纯黑": ("黑色",), "白的": ("白色",), "纯白": ("白色", "全白色"),
    "米白": ("米白色",), "奶白": ("奶白色", "米白色"), "灰的": ("灰色", "浅灰色", "深灰色"),
    "浅灰": ("浅灰色",), "深灰": ("深灰色",), "粉的": ("粉色", "浅粉色"), "粉红": ("粉色", "浅粉色"),
    "浅粉": ("浅粉色",), "绿的": ("绿色", "墨绿色"), "墨绿": ("墨绿色",), "军绿": ("军绿色",),
    "卡其": ("卡其色",), "杏色的": ("杏色",), "咖啡": ("咖啡色",), "棕的": ("棕色", "咖啡色"),
    "紫的": ("紫色", "香芋紫"), "黄的": ("黄色", "奶黄色"), "金色": ("香槟金", "晨曦金", "玫瑰金"),
    "银的": ("银色", "太空银", "星辉银"),
}
_COLOR_SUFFIX = "色"


def color_aliases(catalog_colors: Iterable[str]) -> dict[str, str]:
    """Extra shopper words for the catalogue's colour values: surface -> catalogue value.

    Adds each value without its trailing 色 (酒红色 -> 酒红; only when two or
    more characters remain), ``X的`` for one-character colours (红色 -> 红的),
    and every :data:`COLOR_SYNONYMS` word whose first available target the
    catalogue has. Values themselves are not included.

    >>> color_aliases(["红色", "藏青色"])["枣红"], color_aliases(["红色", "藏青色"])["海军蓝"]
    ('红色', '藏青色')
    """
    colors = list(dict.fromkeys(c for c in catalog_colors if c))
    have = set(colors)
    out: dict[str, str] = {}
    for c in colors:
        if c.endswith(_COLOR_SUFFIX) and len(c) >= 3:
            out.setdefault(c[:-1], c)
        elif c.endswith(_COLOR_SUFFIX) and len(c) == 2:
            out.setdefault(c[0] + "的", c)
    for word, targets in COLOR_SYNONYMS.items():
        target = next((t for t in targets if t in have), None)
        if target is not None and word not in have:
            out[word] = target
    return {k: v for k, v in out.items() if k not in have}


def normalize_color(word: str, catalog_colors: Iterable[str]) -> str | None:
    """One colour word to a catalogue colour value, or None.

    >>> normalize_color("枣红", ["红色", "黑色"]), normalize_color("酒红", ["酒红色"])
    ('红色', '酒红色')
    """
    colors = tuple(catalog_colors)
    if word in colors:
        return word
    return color_aliases(colors).get(word)


# --- pinyin ------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def pinyin_key(text: str) -> str:
    """Toneless pinyin of the Chinese characters, other characters folded, no spaces.

    Catches homophone typos (星曜 / 星耀) and names typed in pinyin.

    >>> pinyin_key("星耀 X15") == pinyin_key("xingyao x15") == pinyin_key("星曜x15")
    True
    """
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(model_key(text), style=Style.NORMAL, errors="default"))


# --- order numbers and phones ----------------------------------------------------------

ORDER_ID_DIGITS = 16
# 16 digits, optionally written in groups separated by single spaces or hyphens.
_ORDER_ID = re.compile(r"(?<![\d])(\d(?:[ \-]?\d){15})(?![\d])")
_MOBILE = re.compile(r"(?<![\d])(1[3-9]\d(?:[ \-]?\d){8})(?![\d])")
_LAST4 = re.compile(
    r"(?:尾号|后四位|后4位|末四位|末4位)(?:是|为|:|：)?\s*(\d{4})(?![\d])"
)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def find_order_ids(text: str) -> list[Match]:
    """16-digit order numbers, also written with spaces or hyphens between groups."""
    half = to_half_width(text)
    return [Match("order_id", _digits(m.group(1)), m.start(1), m.end(1), text[m.start(1):m.end(1)])
            for m in _ORDER_ID.finditer(half)]


def find_phones(text: str) -> list[Match]:
    """11-digit mainland mobile numbers (``138 1234 5678`` too) and ``尾号1234`` last-four digits."""
    half = to_half_width(text)
    found = [Match("phone", _digits(m.group(1)), m.start(1), m.end(1), text[m.start(1):m.end(1)])
             for m in _MOBILE.finditer(half) if len(_digits(m.group(1))) == 11]
    found += [Match("phone_last4", m.group(1), m.start(), m.end(), text[m.start():m.end()])
              for m in _LAST4.finditer(half)]
    return sorted(found, key=lambda x: x.start)


def find_patterns(text: str) -> list[Match]:
    """Order ids, phones and last-four digits, non-overlapping, order ids first."""
    chosen: list[Match] = []
    for m in find_order_ids(text) + find_phones(text):
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda x: x.start)

