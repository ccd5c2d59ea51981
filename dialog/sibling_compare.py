"""A comparison with a product the shopper names by a fragment (跟大号的比 高多少 /
和1.5L那款比 重多少 / 比40码的那双长多少), and the measurement it asks about.

The words are data (``sibling_compare.json``): the comparison forms, each with a
``fragment`` group; the measurement words with their comparatives (高 -> 高/矮);
the units a measurement is written in. Which product the fragment names (a
variant of the product discussed, or a sibling of its family) is decided by
``dialog.resolve.ContextResolver``; this module only reads the message and the
products' facts.

A measurement is read from a product's attributes first (an option or variant
attribute whose name holds the word, 杯身高 / 高度), else from its description
(a number with a unit right after the word: 杯身高18cm, 重量约1.2kg). A product
that states neither has no reading: the reply says so, it does not guess.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialog.errors import DialogError
from schema.types import ProductInfo, VariantInfo

FORMS_PATH = Path(__file__).with_name("sibling_compare.json")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class CompareFormsError(DialogError):
    """``sibling_compare.json`` is missing, malformed, or a pattern does not compile."""


def _norm(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


@dataclass(frozen=True)
class Measure:
    """A measurement word in a message: ``word`` from the data, ``noun`` as the shopper wrote it (杯身高)."""

    word: str
    noun: str
    label: str
    more: str
    less: str


@dataclass(frozen=True)
class Reading:
    """What a product states for a measure: ``text`` as written; number and unit when it is one amount."""

    text: str
    number: float | None = None
    unit: str | None = None


@dataclass(frozen=True)
class SiblingAsk:
    """A comparison form found in a message: the fragment naming the other product, the measure asked."""

    fragment: str
    measure: Measure | None


@dataclass(frozen=True)
class CompareForms:
    forms: tuple[re.Pattern[str], ...]
    measures: tuple[dict[str, str], ...]
    compound_max: int
    not_compound: frozenset[str]
    amount: re.Pattern[str]  # a number (or 30×20×15) and a unit
    value_pattern: str  # the description pattern after a measure word, {word} filled in per word
    units: dict[str, str]  # written unit -> canonical unit

    @classmethod
    def load(cls, path: Path = FORMS_PATH) -> CompareForms:
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            measures = tuple(sorted(raw["measures"], key=lambda m: -len(m["word"])))
            for m in measures:
                if not all(m.get(k) for k in ("word", "more", "less")):
                    raise KeyError(f"measure {m!r} needs word, more and less")
            words = "|".join(re.escape(m["word"]) for m in measures)
            comparative = "|".join(re.escape(c) for c in raw["comparatives"])
            forms = tuple(re.compile(f.replace("{measure}", words).replace("{comparative}", comparative),
                                     re.IGNORECASE) for f in raw["forms"])
            for f in forms:
                if "fragment" not in f.groupindex:
                    raise KeyError(f"form {f.pattern!r} has no fragment group")
            units = {w.lower(): canon for canon, written in raw["units"].items() for w in written}
            unit_alt = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
            amount = re.compile(rf"(?P<num>\d+(?:\.\d+)?(?:\s*[x×*]\s*\d+(?:\.\d+)?)*)\s*(?P<unit>{unit_alt})(?![a-z])")
            suffix = "|".join(re.escape(s) for s in raw["suffixes"])
            connector = "|".join(re.escape(c) for c in sorted(raw["connectors"], key=len, reverse=True))
            value_pattern = rf"(?:{suffix})?\s*(?:{connector})?\s*{amount.pattern}"
            re.compile(value_pattern)
            return cls(forms, measures, int(raw["compound_max"]), frozenset(raw["not_compound"]), amount,
                       value_pattern, units)
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, re.error) as e:
            raise CompareFormsError(f"{path}: not a comparison forms file: {e}") from e

    # --- the message ------------------------------------------------------------------
    def ask(self, text: str) -> SiblingAsk | None:
        """The fragment (as the shopper wrote it: 1.8L) and measure of a comparison form in ``text``."""
        t = unicodedata.normalize("NFKC", text or "")
        for form in self.forms:
            m = form.search(t)
            if m and m.group("fragment").strip():
                rest = t[:m.start()] + " " * (m.end() - m.start()) + t[m.end():]
                return SiblingAsk(m.group("fragment").strip(), self._measure(rest))
        return None

    def _measure(self, text: str) -> Measure | None:
        for m in self.measures:
            at = text.find(m["word"])
            if at < 0:
                continue
            start = at
            while (start > 0 and at - start < self.compound_max and _CJK.match(text[start - 1])
                   and text[start - 1] not in self.not_compound):
                start -= 1
            noun = text[start:at + len(m["word"])]
            label = noun if noun != m["word"] else m.get("label") or m["word"]
            return Measure(m["word"], noun, label, m["more"], m["less"])
        return None

    # --- the products -----------------------------------------------------------------
    def read(self, measure: Measure, product: ProductInfo, variants: list[VariantInfo]) -> Reading | None:
        """The product's own statement of ``measure``: attributes first, then the description."""
        values: dict[str, list[str]] = {}
        for key, vals in product.options.items():
            values.setdefault(key, []).extend(vals)
        for v in variants:
            for key, val in v.attributes.items():
                values.setdefault(key, []).append(str(val))
        for name in dict.fromkeys((measure.noun, measure.word)):
            for key, vals in values.items():
                if name not in _norm(key):
                    continue
                stated = list(dict.fromkeys(v for v in vals if self.amount.search(_norm(v))))
                if len(stated) == 1:
                    return self._reading(stated[0])
                if stated:
                    return Reading("/".join(stated))
        text = _norm(product.description)
        for name in dict.fromkeys((measure.noun, measure.word)):
            m = re.search(re.escape(name) + self.value_pattern, text)
            if m:
                return self._amount(m)
        return None

    def _reading(self, value: str) -> Reading:
        m = self.amount.fullmatch(_norm(value).strip().removeprefix("约"))
        return self._amount(m) if m else Reading(value)

    def _amount(self, m: re.Match[str]) -> Reading:
        num, unit = m.group("num"), self.units[m.group("unit")]
        text = f"{num}{unit}"
        try:
            return Reading(text, float(num), unit)
        except ValueError:  # 30×20×15: stated as written, no difference taken
            return Reading(text)


def amount_text(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")
