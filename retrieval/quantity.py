"""Quantities written the way shoppers and catalogues write them: 半斤, 二两, 1.5斤, 1公斤, 250g, 500ml.

Owns: reading a quantity in a message or a catalogue value as an amount in a
base unit (grams, millilitres), from the general unit words in
``schema/units.json``, so that 半斤 in a message finds the value 250g and
二两 finds 100g. Nothing here knows a store: the values are the argument.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from retrieval.errors import RetrievalError
from retrieval.normalize import fold

UNITS_FILE = Path(__file__).resolve().parent.parent / "schema" / "units.json"


class QuantityError(RetrievalError):
    """The unit data is malformed (names the file and the field)."""


@dataclass(frozen=True)
class Quantity:
    start: int
    end: int
    amount: float  # in the dimension's base unit (g, ml)
    dimension: str  # mass | volume

    @property
    def key(self) -> tuple[str, float]:
        return (self.dimension, round(self.amount, 3))


@dataclass(frozen=True)
class Units:
    units: dict[str, tuple[str, float]]
    numerals: dict[str, float]
    pattern: re.Pattern[str]

    def find(self, text: str) -> list[Quantity]:
        """Every quantity in ``text`` (folded: half-width, lower case), in reading order.

        >>> [(q.amount, q.dimension) for q in load_units().find("红茶半斤装，再来二两")]
        [(250.0, 'mass'), (100.0, 'mass')]
        """
        out = []
        for m in self.pattern.finditer(fold(text)):
            number = self._number(m.group("num"))
            unit = m.group("unit")
            if number is None or number <= 0:
                continue
            if m.group("half"):
                number += 0.5
            dim, factor = self.units[unit]
            out.append(Quantity(m.start(), m.end(), number * factor, dim))
        return out

    def first(self, value: str) -> Quantity | None:
        """The amount a catalogue value states first (礼盒装200g -> 200 g; 100g（50g×2罐） -> 100 g)."""
        found = self.find(value)
        return found[0] if found else None

    def _number(self, text: str) -> float | None:
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return float(text)
        if text in self.numerals:
            return self.numerals[text]
        if len(text) == 2 and text[0] == "十" and text[1] in self.numerals:  # 十二
            return 10 + self.numerals[text[1]]
        if len(text) == 2 and text[1] == "十" and text[0] in self.numerals:  # 二十
            return self.numerals[text[0]] * 10
        return None


@lru_cache(maxsize=4)
def load_units(path: Path = UNITS_FILE) -> Units:
    """Read and validate the unit data; raises :class:`QuantityError` naming the field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise QuantityError(f"cannot read units {path}: {e}") from e
    units_raw = raw.get("units") if isinstance(raw, dict) else None
    numerals_raw = raw.get("numerals") if isinstance(raw, dict) else None
    if not isinstance(units_raw, dict) or not units_raw:
        raise QuantityError(f"{path}: field 'units' must be a non-empty object")
    if not isinstance(numerals_raw, dict) or not numerals_raw:
        raise QuantityError(f"{path}: field 'numerals' must be a non-empty object")
    units: dict[str, tuple[str, float]] = {}
    for word, spec in units_raw.items():
        if (not isinstance(spec, list) or len(spec) != 2 or not isinstance(spec[0], str)
                or not isinstance(spec[1], int | float) or spec[1] <= 0):
            raise QuantityError(f"{path}: units.{word}: [dimension, positive factor] is required")
        units[fold(word)] = (spec[0], float(spec[1]))
    blocked = raw.get("not_before", [])
    if not isinstance(blocked, list) or not all(isinstance(w, str) and w for w in blocked):
        raise QuantityError(f"{path}: not_before: a list of non-empty strings is required")
    numerals: dict[str, float] = {}
    for word, value in numerals_raw.items():
        if not isinstance(value, int | float) or len(word) != 1:
            raise QuantityError(f"{path}: numerals.{word}: one character and a number are required")
        numerals[word] = float(value)
    chars = "".join(sorted(numerals))
    unit_alt = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    # A number (digits, or one or two numeral characters), a unit, and an optional 半 after it (一斤半).
    # ASCII units need a word edge after them (g in gb is not grams); digits need one before.
    after = "|".join(re.escape(w) for w in sorted(blocked, key=len, reverse=True)) or "(?!)"
    pattern = re.compile(
        rf"(?<![\d.a-z])(?P<num>\d+(?:\.\d+)?|[{chars}]{{1,2}})\s?(?P<unit>{unit_alt})(?![a-z])(?P<half>半)?"
        rf"(?!{after})")
    return Units(units, numerals, pattern)
