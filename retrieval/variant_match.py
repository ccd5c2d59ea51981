"""Match a shopper's colour, size or option word to the values one product really has.

Owns: the colour families (``schema/color_families.json``: general Chinese
colour vocabulary) and :func:`match_values`, which maps a word such as 灰色,
蓝的, 白的, 大号, 750的 or 26寸 onto a product's own variant values, whatever
the store calls them (石墨灰, 雾霾蓝, 象牙白, L码, 750ml). Tiers, first hit wins:

1. ``exact``: same value after case/width folding and a trailing 的/色;
2. ``size``: the same canonical size (加大号 = XL = xl码);
3. ``number``: the same number (750 -> 750ml, 26寸的 -> 26寸);
4. ``contains``: one contains the other (雾霾 -> 雾霾蓝);
5. ``family``: the same colour family (灰 -> 石墨灰 / 银灰; a value's main family,
   that of its last hue, comes before the others);
6. ``pinyin``: the same toneless pinyin (红 / 虹);
7. ``fuzzy``: rapidfuzz ratio of at least :data:`FUZZY_MIN`.

Nothing here knows a store: the product's values are the argument.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

from retrieval.errors import RetrievalError
from retrieval.normalize import model_key, normalize_size, pinyin_key

FAMILIES_FILE = Path(__file__).resolve().parent.parent / "schema" / "color_families.json"
FUZZY_MIN = 75.0
_TRAILING = re.compile(r"(?:的|色|款|版|那个|那款)+$")
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])")


class VariantMatchError(RetrievalError):
    """The colour-family data is malformed (names the file and the field)."""


@dataclass(frozen=True)
class ColorFamily:
    name: str
    words: tuple[str, ...]  # shopper words naming the whole family (灰色, 灰的)
    hues: tuple[str, ...]  # characters or words that put a colour name in the family


@dataclass(frozen=True)
class ColorFamilies:
    families: tuple[ColorFamily, ...]

    def of(self, name: str) -> tuple[str, ...]:
        """Families of a colour name, main family (that of the last hue in the name) first.

        >>> load_color_families().of("银灰")
        ('grey', 'silver')
        """
        text = model_key(name)
        found: list[tuple[int, int, str]] = []
        for fam in self.families:
            ends = [(text.rfind(h) + len(h), len(h)) for h in fam.hues if h in text]
            if ends:
                end, size = max(ends)
                found.append((end, size, fam.name))
        found.sort(key=lambda x: (-x[0], -x[1]))  # the last hue wins; at the same end the longer (藏青 over 青)
        return tuple(dict.fromkeys(name for _, _, name in found))

    def of_word(self, word: str) -> str | None:
        """The family a shopper word names as a whole (灰色, 蓝的, 白), else None."""
        key = model_key(word)
        for fam in self.families:
            if key in fam.words:
                return fam.name
        return None

    def family_words(self) -> dict[str, str]:
        """Every whole-family shopper word -> its family."""
        return {w: fam.name for fam in self.families for w in fam.words}


@lru_cache(maxsize=4)
def load_color_families(path: Path = FAMILIES_FILE) -> ColorFamilies:
    """Read and validate the colour families; raises :class:`VariantMatchError` naming the field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise VariantMatchError(f"cannot read colour families {path}: {e}") from e
    rows = raw.get("families") if isinstance(raw, dict) else None
    if not isinstance(rows, list) or not rows:
        raise VariantMatchError(f"{path}: field 'families' must be a non-empty list")
    families, seen = [], set()
    for i, row in enumerate(rows):
        where = f"{path}: families[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"]:
            raise VariantMatchError(f"{where}.name: a non-empty string is required")
        if row["name"] in seen:
            raise VariantMatchError(f"{where}.name: duplicate family {row['name']!r}")
        seen.add(row["name"])
        for field in ("words", "hues"):
            vals = row.get(field)
            if not isinstance(vals, list) or not vals or not all(isinstance(v, str) and v for v in vals):
                raise VariantMatchError(f"{where}.{field}: a non-empty list of strings is required")
        families.append(ColorFamily(row["name"], tuple(model_key(w) for w in row["words"]),
                                    tuple(model_key(h) for h in row["hues"])))
    return ColorFamilies(tuple(families))


@dataclass(frozen=True)
class ValueMatch:
    value: str
    how: str  # exact | size | number | contains | family | pinyin | fuzzy
    score: float


def _core(text: str) -> str:
    key = model_key(text)
    stripped = _TRAILING.sub("", key)
    return stripped or key


def _numbers(text: str) -> set[str]:
    return {str(float(n)) for n in _NUMBER.findall(model_key(text))}


def match_values(word: str, values: Iterable[str], families: ColorFamilies | None = None) -> list[ValueMatch]:
    """The product's values that ``word`` names, best first; [] when none does.

    >>> [m.value for m in match_values("灰色", ["曜石黑", "石墨灰", "雾霾蓝"])]
    ['石墨灰']
    >>> [m.value for m in match_values("750的", ["500ml", "750ml"])]
    ['750ml']
    """
    vals = list(dict.fromkeys(v for v in values if v))
    if not vals or not word.strip():
        return []
    core = _core(word)
    exact = [v for v in vals if _core(v) == core or model_key(v) == model_key(word)]
    if exact:
        return [ValueMatch(v, "exact", 1.0) for v in exact]
    size = normalize_size(word)
    if size is not None:
        hits = [v for v in vals if normalize_size(v) == size or _core(v) == size.lower()]
        if hits:
            return [ValueMatch(v, "size", 0.95) for v in hits]
    nums = _numbers(word)
    if nums:
        hits = [v for v in vals if nums & _numbers(v)]
        if hits:
            return [ValueMatch(v, "number", 0.9) for v in hits]
    if not core.isascii() or len(core) >= 2:
        hits = [v for v in vals if core in _core(v) or (len(_core(v)) >= 2 and _core(v) in core)]
        if hits:
            return [ValueMatch(v, "contains", 0.85) for v in hits]
    fams = families or load_color_families()
    fam = fams.of_word(word) or next(iter(fams.of(word)), None)
    if fam is not None:
        main = [v for v in vals if fams.of(v)[:1] == (fam,)]
        other = [v for v in vals if v not in main and fam in fams.of(v)]
        if main or other:
            return [ValueMatch(v, "family", 0.8) for v in main] + [ValueMatch(v, "family", 0.7) for v in other]
    if not core.isascii():
        py = pinyin_key(core)
        hits = [v for v in vals if pinyin_key(_core(v)) == py]
        if hits:
            return [ValueMatch(v, "pinyin", 0.75) for v in hits]
    if len(core) >= 2:
        scored = sorted(((fuzz.ratio(core, _core(v)), v) for v in vals), reverse=True)
        best = scored[0][0]
        if best >= FUZZY_MIN:
            return [ValueMatch(v, "fuzzy", round(s / 100.0, 4)) for s, v in scored if s == best]
    return []


def family_members(word: str, values: Sequence[str], families: ColorFamilies | None = None) -> tuple[str, ...]:
    """The values of ``values`` in the colour family that ``word`` names as a whole (main family first)."""
    fams = families or load_color_families()
    fam = fams.of_word(word)
    if fam is None:
        return ()
    main = [v for v in values if fams.of(v)[:1] == (fam,)]
    return tuple(main + [v for v in values if v not in main and fam in fams.of(v)])


MENTION_MIN = 2  # characters of a value that a message must repeat to name it


def _longest_common(a: str, b: str) -> str:
    best = ""
    for i in range(len(a)):
        for j in range(i + len(best) + 1, len(a) + 1):
            if a[i:j] in b:
                best = a[i:j]
            else:
                break
    return best


def mentioned_values(text: str, offered: dict[str, Iterable[str]]) -> dict[str, str]:
    """Values the message names by a distinctive part of them, per property.

    途观 names 大众途观L, 凯美瑞 丰田凯美瑞, 整箱 整箱12瓶: the longest run of at
    least :data:`MENTION_MIN` characters that the message shares with a value,
    provided no other value of the same property contains that run (so 色 or a
    shared unit never picks one) and no other value shares as long a run.

    >>> mentioned_values("途观的头枕还有吗", {"车型": ["大众途观L", "丰田凯美瑞"]})
    {'车型': '大众途观L'}
    """
    message = model_key(text)
    found: dict[str, str] = {}
    for key, values in offered.items():
        vals = list(dict.fromkeys(v for v in values if v))
        scored = []
        for v in vals:
            run = _longest_common(model_key(v), message)
            if len(run) >= MENTION_MIN and not any(run in model_key(o) for o in vals if o != v):
                scored.append((len(run), v))
        scored.sort(reverse=True)
        if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            found[key] = scored[0][1]
    return found
