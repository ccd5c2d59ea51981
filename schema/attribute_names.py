"""Attribute names in any language: normalising, families, display, reserved names.

A store names its variant options as it likes (``颜色``, ``color``, ``适用车型``).
The name is stored and shown exactly as written; for *matching* it is
normalised with :func:`norm` (NFKC, case folded, whitespace removed), and
:func:`family` says which general option it is (``颜色`` and ``color`` are both
``color``), so the linker and the answers treat them alike. What the words
mean is data (``schema/attribute_names.json``, general language, no store's
own words), checked when first read.

    >>> family("颜色"), family("Colour"), family("适用车型"), family("片数")
    ('color', 'color', 'fit', None)
    >>> reserved_as("ＳＫＵ"), reserved_as("库存"), reserved_as("颜色")
    ('sku', 'stock', None)
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

VOCABULARY_FILE = Path(__file__).resolve().parent / "attribute_names.json"
_SPACE = re.compile(r"\s+")
# Letters and digits of any script plus "_" (Python's \w is Unicode-aware).
NAME_PATTERN = re.compile(r"^\w{1,40}$")


class AttributeVocabularyError(ValueError):
    """``attribute_names.json`` is malformed (a name in two families, a family without display)."""


def norm(text: str) -> str:
    """The matching form of a name or value: NFKC, case folded, no whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class AttributeVocabulary:
    families: dict[str, str]  # normalised name -> family
    order: tuple[str, ...]
    display: dict[str, str]
    reserved: dict[str, str]  # normalised name -> the field it would shadow


@lru_cache(maxsize=1)
def vocabulary(path: Path = VOCABULARY_FILE) -> AttributeVocabulary:
    """Read and check the vocabulary once per process.

    Raises:
        AttributeVocabularyError: a name belongs to two families or two reserved
            fields, or a family lacks an ``order`` / ``display`` entry.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    families: dict[str, str] = {}
    for fam, names in data["families"].items():
        for name in [fam, *names]:
            key = norm(name)
            if families.get(key, fam) != fam:
                raise AttributeVocabularyError(f"{path.name}: {name!r} is in families {families[key]} and {fam}")
            families[key] = fam
    missing = [f for f in data["families"] if f not in data["order"] or f not in data["display"]]
    if missing:
        raise AttributeVocabularyError(f"{path.name}: families without order/display: {', '.join(missing)}")
    reserved: dict[str, str] = {}
    for fld, names in data["reserved"].items():
        for name in [fld, *names] if fld != "internal" else names:
            key = norm(name)
            if key in families:
                raise AttributeVocabularyError(f"{path.name}: {name!r} is both reserved and an attribute name")
            reserved[key] = name if fld == "internal" else fld
    return AttributeVocabulary(families, tuple(data["order"]), dict(data["display"]), reserved)


def family(name: str) -> str | None:
    """The general option a name means (``color``, ``size``, ...), or None for a store's own name."""
    return vocabulary().families.get(norm(name))


def same_attribute(a: str, b: str) -> bool:
    """Whether two names mean the same option (equal when normalised, or of one family)."""
    if norm(a) == norm(b):
        return True
    fa = family(a)
    return fa is not None and fa == family(b)


def reserved_as(name: str) -> str | None:
    """The reserved field a name would shadow after normalisation, or None."""
    return vocabulary().reserved.get(norm(name))


def check_name(name: str) -> str:
    """Validate one attribute name; return it unchanged.

    Raises:
        ValueError: not 1-40 letters/digits/_ of any script, or it shadows a
            reserved field (also after NFKC and case folding: ``ＳＫＵ``, ``Price``, ``库存``).
    """
    if not NAME_PATTERN.match(name):
        raise ValueError(f"attribute name {name!r} must be 1 to 40 letters, digits or _ (any script)")
    shadowed = reserved_as(name)
    if shadowed is not None:
        raise ValueError(f"attribute name {name!r} is reserved: it would shadow the field {shadowed!r}")
    return name


def check_distinct(names: Iterable[str]) -> None:
    """Raise ``ValueError`` when two names of one record normalise alike (``Color`` and ``color``)."""
    seen: dict[str, str] = {}
    for name in names:
        key = norm(name)
        if key in seen:
            raise ValueError(f"attribute names {seen[key]!r} and {name!r} are the same name once normalised")
        seen[key] = name


def display(name: str) -> str:
    """How a name is shown to shoppers: a store's own name as written, an ASCII family name in Chinese."""
    fam = family(name)
    if fam is not None and name.isascii():
        return vocabulary().display[fam]
    return name


def ordered(names: Iterable[str]) -> list[str]:
    """Names in label order: known families first (colour, size, ...), then the rest as given."""
    order = vocabulary().order
    names = list(dict.fromkeys(names))
    rank = {n: (order.index(f) if (f := family(n)) in order else len(order), i) for i, n in enumerate(names)}
    return sorted(names, key=rank.__getitem__)


def equivalent_keys(name: str) -> list[str]:
    """Every normalised name that means the same option as ``name`` (itself first)."""
    fam = family(name)
    keys = [norm(name)]
    if fam is not None:
        keys += sorted(k for k, f in vocabulary().families.items() if f == fam and k != keys[0])
    return keys


def lexicon_type(name: str) -> str:
    """The linker's entity type for a value of this attribute: ``color``, ``size`` or ``attribute``."""
    fam = family(name)
    return fam if fam in ("color", "size") else "attribute"
