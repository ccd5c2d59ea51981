"""Size and fit tables read from a store's own texts (FAQ answers, descriptions,
attribute values), and the shopper's measurements read from a message.

Only general language is here: the words for height, weight, age and foot
length, their units, range and size-label shapes (150-160cm, 100斤左右选S,
S码：身高155-165, 偏小半码建议拍大半码). Nothing of any store.

>>> rows = parse_table("身高150-160cm选S；160-170cm选M")
>>> recommend(rows, {"height": 165})
('M', [SizeRow(dim='height', low=160.0, high=170.0, size='M', text='160-170cm选M')])
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_NUM = r"\d+(?:\.\d+)?"
_RANGE = re.compile(rf"(?P<kw>身高|体重|脚长|足长|年龄|月龄|胸围|腰围)?\s*[:：]?\s*(?P<lo>{_NUM})\s*"
                    rf"(?:(?P<u1>cm|厘米|kg|公斤|斤|岁|个月|mm|毫米)\s*)?(?:(?:-|~|～|—|至|到)\s*(?P<hi>{_NUM})\s*)?"
                    r"(?P<u2>cm|厘米|kg|公斤|斤|岁|个月|mm|毫米)?", re.I)
_SIZE_AFTER = re.compile(r"(?:选|穿|拍|建议|推荐|对应|适合|用|为|→|->|=)\s*(?P<s>[0-9]{1,2}寸|[0-9]{2,3}(?:\.5)?码?|"
                         r"[2-5]?X{0,3}[SML]码?|X{1,3}L码?|均码|大码|小码)", re.I)
_SIZE_BEFORE = re.compile(r"^\s*(?P<s>[0-9]{2,3}(?:\.5)?码|[2-5]?X{0,3}[SML]码?|X{1,3}L码?|均码)\s*(?:[:：(（]|适合|对应|适用)", re.I)
_SPLIT = re.compile(r"[；;。\n，,|/]")
_FIT = re.compile(r"(?P<how>偏大|偏小|正码|标准码)(?:(?P<amt0>半|一|1)码)?(?:[^。；;]{0,10}?(?:建议|可以|请)?(?:拍|选|买)"
                  r"(?P<dir>大|小)(?P<amt>半|一|1|0\.5)码)?")
_DIMS = {"身高": "height", "体重": "weight", "脚长": "foot", "足长": "foot", "年龄": "age", "月龄": "age_months",
         "胸围": "chest", "腰围": "waist"}
_UNIT_DIM = {"kg": "weight", "公斤": "weight", "斤": "weight", "岁": "age", "个月": "age_months", "mm": "foot",
             "毫米": "foot"}

_ASK = {
    "height": re.compile(rf"(?:身高|个子|高)\s*(?P<v>{_NUM})\s*(?P<u>cm|厘米|米)?|(?P<v2>1[0-9]{{2}}|[5-9][0-9])\s*(?:cm|厘米)"
                         rf"|(?P<m>[12])\s*米\s*(?P<cm>[0-9]{{1,2}})?", re.I),
    "weight": re.compile(rf"(?:体重|重)?\s*(?P<v>{_NUM})\s*(?P<u>kg|公斤|斤)", re.I),
    "age": re.compile(rf"(?P<v>{_NUM})\s*(?:周岁|岁)"),
    "foot": re.compile(rf"(?:脚长|足长)\s*(?P<v>{_NUM})\s*(?P<u>cm|厘米|mm|毫米)?", re.I),
    "usual": re.compile(r"(?:平时|平常|一般|正常|之前)?(?:穿|买|是)\s*(?P<v>[0-9]{2}(?:\.5)?|[2-5]?X{0,3}[SML])\s*码?", re.I),
}


_BELOW = re.compile(r"\s*(?:及)?(?:以下|以内|之内|之下)")
_ABOVE = re.compile(r"\s*(?:及)?(?:以上|之上)")
_OPEN_HIGH = 10_000.0

# The shopper asks which size to take (as opposed to naming a size: 26寸的呢).
_ASKS_SIZE = re.compile(r"多大|几码|什么码|哪个码|哪一码|尺码表|尺寸表|怎么选|选哪|选多大|穿多大|买多大|合适|偏大|偏小|"
                        r"几号|多少码|适合.{0,4}(?:身高|体重|岁|孩子)")


def asks_for_size(text: str) -> bool:
    return bool(_ASKS_SIZE.search(unicodedata.normalize("NFKC", text)))


@dataclass(frozen=True)
class SizeRow:
    dim: str
    low: float
    high: float
    size: str
    text: str


@dataclass(frozen=True)
class FitNote:
    text: str
    offset: float  # +0.5: take half a size up


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _dim_value(kw: str | None, unit: str | None, value: float) -> tuple[str, float] | None:
    unit = (unit or "").lower()
    dim = _DIMS.get(kw or "") or _UNIT_DIM.get(unit)
    if dim is None and unit in ("cm", "厘米"):
        dim = "foot" if value < 35 else "height"
    if dim is None:
        return None
    if unit == "斤":
        value /= 2
    if dim == "foot" and unit in ("mm", "毫米"):
        value /= 10
    return dim, value


def _size_label(segment: str) -> str | None:
    m = _SIZE_AFTER.search(segment) or _SIZE_BEFORE.search(segment)
    return m.group("s").upper().replace("码", "") if m else None


def parse_table(text: str) -> list[SizeRow]:
    """Rows of a size table in free text; a row needs a measurement and a size label."""
    rows: list[SizeRow] = []
    last_kw: str | None = None
    for segment in _SPLIT.split(_norm(text)):
        size = _size_label(segment)
        if size is None:
            continue
        label_span = (_SIZE_AFTER.search(segment) or _SIZE_BEFORE.search(segment)).span()
        for m in _RANGE.finditer(segment):
            if m.start() >= label_span[0] and m.end() <= label_span[1]:
                continue
            unit = m.group("u2") or m.group("u1")
            kw = m.group("kw") or (last_kw if not unit else None)
            lo = float(m.group("lo"))
            hi = float(m.group("hi")) if m.group("hi") else lo
            if not m.group("hi") and unit:
                # 160cm以下 / 160cm以上: an open range on one side.
                after = segment[m.end():m.end() + 3]
                if _BELOW.match(after):
                    lo = 0.0
                elif _ABOVE.match(after):
                    hi = _OPEN_HIGH
            dv = _dim_value(kw, unit, lo)
            if dv is None:
                continue
            dim, lo_v = dv
            hi_v = _dim_value(kw, unit, hi)[1]  # type: ignore[index]
            if m.group("kw"):
                last_kw = m.group("kw")
            rows.append(SizeRow(dim, lo_v, hi_v, size, segment.strip()))
    return rows


def parse_fit(text: str) -> FitNote | None:
    m = _FIT.search(_norm(text))
    if not m:
        return None
    amount = {"半": 0.5, "0.5": 0.5, "一": 1.0, "1": 1.0}.get(m.group("amt") or "", 0.0)
    if not m.group("dir"):
        step = 1.0 if m.group("amt0") in ("一", "1") else 0.5
        amount = step if m.group("how") == "偏小" else (-step if m.group("how") == "偏大" else 0.0)
        if m.group("how") in ("正码", "标准码"):
            amount = 0.0
    elif m.group("dir") == "小":
        amount = -amount
    return FitNote(m.group(0), amount)


def parse_measures(text: str) -> dict[str, float | str]:
    """The shopper's height (cm), weight (kg), age (years), foot length (cm) or usual size."""
    t = _norm(text)
    out: dict[str, float | str] = {}
    m = _ASK["foot"].search(t)
    if m:
        v = float(m.group("v"))
        out["foot"] = v / 10 if (m.group("u") or "").lower() in ("mm", "毫米") or v > 100 else v
    m = _ASK["height"].search(t)
    if m:
        if m.group("m"):
            out["height"] = float(m.group("m")) * 100 + float(m.group("cm") or 0) * (10 if len(m.group("cm") or "") == 1 else 1)
        else:
            v = float(m.group("v") or m.group("v2"))
            out["height"] = v * 100 if (m.group("u") or "") == "米" else v
    m = _ASK["weight"].search(t)
    if m:
        v = float(m.group("v"))
        out["weight"] = v / 2 if m.group("u") == "斤" else v
    m = _ASK["age"].search(t)
    if m:
        out["age"] = float(m.group("v"))
    m = _ASK["usual"].search(t)
    if m and "foot" not in out:
        out["usual"] = m.group("v").upper()
    return out


def recommend(rows: list[SizeRow], measures: dict[str, float | str]) -> tuple[str, list[SizeRow]] | None:
    """The size the table gives for the measurements, and the rows it rests on.

    A range row matches when it contains the value; point rows (160cm选S) match
    the nearest point within 8%. With several measurements the size most of them
    agree on wins; on a tie, the larger (later in the table).
    """
    votes: dict[str, list[SizeRow]] = {}
    order: dict[str, int] = {}
    for i, r in enumerate(rows):
        order.setdefault(r.size, i)
    for dim, value in measures.items():
        if not isinstance(value, float):
            continue
        dim_rows = [r for r in rows if r.dim == dim]
        hit = [r for r in dim_rows if r.low != r.high and r.low <= value <= r.high]
        if not hit:
            points = [r for r in dim_rows if r.low == r.high]
            if points:
                near = min(points, key=lambda r: abs(r.low - value))
                if abs(near.low - value) <= 0.08 * max(value, 1):
                    hit = [near]
        if hit:
            chosen = hit[-1]
            votes.setdefault(chosen.size, []).append(chosen)
    if not votes:
        return None
    size = max(votes, key=lambda s: (len(votes[s]), order[s]))
    return size, votes[size]


def _size_key(label: str) -> str:
    return re.sub(r"\s|码$", "", _norm(label).upper().replace("码", ""))


def offers(sizes: list[str], size: str) -> bool:
    """Whether a product's size values include the recommended size (23 -> 23寸, M -> M码)."""
    want = _size_key(size)
    for s in sizes:
        have = _size_key(s)
        if have == want:
            return True
        digits = re.match(r"\d+(?:\.\d+)?", have)
        if digits and digits.group(0) == want or re.fullmatch(r"\d+(?:\.\d+)?", have) and have == re.sub(r"\D+$", "", want):
            return True
    return False


def shifted_size(usual: str, note: FitNote, available: list[str]) -> str | None:
    """Usual numeric size moved by the fit note, snapped to a size the product has."""
    try:
        target = float(usual) + note.offset
    except ValueError:
        return None
    numeric = []
    for s in available:
        try:
            numeric.append((float(re.sub(r"码$", "", s)), s))
        except ValueError:
            continue
    if not numeric:
        return f"{target:g}"
    above = sorted((v, s) for v, s in numeric if v >= target - 1e-9) if note.offset >= 0 else sorted(
        ((v, s) for v, s in numeric if v <= target + 1e-9), reverse=True)
    return (above[0][1] if above else None) or f"{target:g}"
