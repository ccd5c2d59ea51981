"""A clarifying question answered with a fragment of one option instead of its
number: 双人的 / 750的 / 男款 黑色 / 大的那个 / 贵的那个 / 第二个 / 最后一个.

Everything compared comes from the options themselves (their names, variant
values and prices as the store wrote them); only general language is here:
ordinals, 大/小, 贵/便宜. ``resolve_fragment`` returns the 0-based index of
the one option the fragment singles out, or None when it does not single out one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_ORDINAL = re.compile(r"第\s*([一二两三四五1-5])\s*(?:个|款|种|条|项|件|家|位)?")
_LAST = re.compile(r"最后(?:一|1)?(?:个|款|种|条|项)")
_PRICIER = re.compile(r"贵|高档|高配|价格高")
_CHEAPER = re.compile(r"便宜|实惠|低配|价格低")
_BIGGER = re.compile(r"大的|大号|大一点|大点|大些|最大|大款|大的那")
_SMALLER = re.compile(r"小的|小号|小一点|小点|小些|最小|小款|小的那")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TERM = re.compile(r"[A-Za-z0-9.]+|[\u4e00-\u9fff]+")
# Words that carry no distinction between options, whatever the store.
_FILLER = re.compile(r"那个|那款|这个|这款|的|要|吧|呢|啊|吗|就|我|选|拿|买|是|那|这|个|款")
_MAX_FRAGMENT = 16
_MIN_CJK_TERM = 2


@dataclass
class OptionText:
    """What the shopper may echo of one option: its name, values (颜色/尺寸...), price."""

    name: str
    values: Sequence[str] = field(default_factory=tuple)
    price: float | None = None


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace(" ", "")


def _terms(option: OptionText) -> set[str]:
    """Substrings of the option's name and values that a shopper may type: whole value
    strings, alphanumeric tokens and every CJK substring of 2-4 characters."""
    out: set[str] = set()
    for text in (option.name, *option.values):
        t = _norm(text)
        if t:
            out.add(t)
        for run in _TERM.findall(t):
            if run[0].isascii():
                out.add(run)
                out.update(_NUMBER.findall(run))
                continue
            for n in range(_MIN_CJK_TERM, min(4, len(run)) + 1):
                out.update(run[i:i + n] for i in range(len(run) - n + 1))
    return out


def _magnitude(option: OptionText) -> float | None:
    """The option's size as a number, when its name or values carry one (500ml, 28寸, 双人=2)."""
    nums = [float(n) for text in (option.name, *option.values) for n in _NUMBER.findall(_norm(text))]
    return max(nums) if nums else None


def _extreme(values: list[float | None], biggest: bool) -> int | None:
    if any(v is None for v in values) or len(set(values)) != len(values):
        return None
    pick = max if biggest else min
    return values.index(pick(values))  # type: ignore[arg-type]


def _distinct_terms(options: Sequence[OptionText]) -> list[set[str]]:
    term_sets = [_terms(o) for o in options]
    out = []
    for i, terms in enumerate(term_sets):
        others = set().union(*(t for j, t in enumerate(term_sets) if j != i))
        out.append({t for t in terms if t not in others})
    return out


def resolve_fragment(text: str, options: Sequence[OptionText]) -> int | None:
    """The index of the option ``text`` singles out, or None."""
    if len(options) < 2:
        return None
    t = _norm(text)
    if not t or len(t) > _MAX_FRAGMENT:
        return None
    m = _ORDINAL.search(t)
    if m:
        index = _ORDINALS[m.group(1)] - 1
        return index if index < len(options) else None
    if _LAST.search(t):
        return len(options) - 1
    # Words of one option win over comparatives (大号 can be a value, 贵州 a name).
    distinct = _distinct_terms(options)
    stripped = _FILLER.sub("", t)
    scores = []
    for terms in distinct:
        hits = [term for term in terms if term in t]
        # A term counts by its length; numbers count once whole (750 must not score 75).
        scores.append(max((len(h) for h in hits), default=0) + 0.01 * len(hits))
    best = max(scores)
    if best >= _MIN_CJK_TERM or (best >= 1 and stripped and _NUMBER.fullmatch(stripped)):
        if scores.count(best) == 1:
            return scores.index(best)
    if _PRICIER.search(t) or _CHEAPER.search(t):
        prices = [o.price for o in options]
        index = _extreme(prices, biggest=bool(_PRICIER.search(t)))
        if index is not None:
            return index
    if _BIGGER.search(t) or _SMALLER.search(t):
        return _extreme([_magnitude(o) for o in options], biggest=bool(_BIGGER.search(t)))
    return None
