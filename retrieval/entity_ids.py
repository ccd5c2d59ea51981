"""The store's own product ids: exact id surfaces and the id schemes found in the graph.

Owns: reading every product id out of a :class:`CatalogLexicon` (a product
with only an id and attribute lists still appears in the product ids of its
attribute entries), the typed forms of an id (any case, with or without its
separators: ``sy-kc-06``, ``SYKC06``), and :class:`IdScheme`, a pattern derived
from the shapes of the loaded ids (``P1001`` -> ``p`` + 4 digits; ``AB-CD-12``
-> two letters, separator, two letters, separator, two digits; a letter run
that takes only a few values across the store's ids keeps those values). No
id pattern is written in the code: a store with ids like ``SKU_88012`` or
``mx-2231`` gets its own.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from schema.lexicon import CatalogLexicon

_RUN = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
# A letter run with at most this many distinct values across the ids is kept literally.
MAX_LITERAL_VALUES = 6
# Ids of one shape needed before the shape counts as a scheme.
MIN_IDS_PER_SCHEME = 2
SEPARATORS = "-_./ "


def product_ids(lexicon: CatalogLexicon) -> tuple[str, ...]:
    """Every product id the lexicon knows, sorted (products with no name included)."""
    ids: set[str] = set()
    for e in lexicon.entries:
        ids.update(e.product_ids)
        if e.type == "product":
            ids.add(e.value)
    return tuple(sorted(ids))


def id_forms(product_id: str) -> tuple[str, ...]:
    """How a shopper may type an id: as stored and without separators (matching is case-free)."""
    compact = "".join(ch for ch in product_id if ch not in SEPARATORS)
    return tuple(dict.fromkeys(f for f in (product_id, compact) if f))


def _shape(product_id: str) -> tuple[tuple[str, int | str], ...] | None:
    runs = _RUN.findall(product_id)
    out: list[tuple[str, int | str]] = []
    for r in runs:
        if r.isdigit():
            out.append(("d", len(r)))
        elif r.isascii() and r.isalpha():
            out.append(("a", len(r)))
        elif all(ch in SEPARATORS for ch in r):
            out.append(("sep", r))
        else:
            return None  # ids with other characters (Chinese, symbols) get exact matching only
    return tuple(out)


@dataclass(frozen=True)
class IdScheme:
    """One id shape of the store: a case-free regex and how to write a match the store's way."""

    pattern: re.Pattern[str]
    parts: tuple[tuple[str, int | str], ...]
    upper: bool  # the store writes the letters in upper case

    def canonical(self, match: re.Match[str]) -> str:
        """The id as the store would write it (its case and separators)."""
        out = []
        g = 0
        for kind, arg in self.parts:
            if kind == "sep":
                out.append(str(arg))
            else:
                g += 1
                text = match.group(f"r{g}")
                out.append(text.upper() if kind == "a" and self.upper else text.lower() if kind == "a" else text)
        return "".join(out)


def id_schemes(ids: Iterable[str]) -> tuple[IdScheme, ...]:
    """The id shapes shared by at least :data:`MIN_IDS_PER_SCHEME` ids, with at least one letter run.

    Pure-digit ids are left to exact matching: a bare number is too often a
    quantity, a price or an order number.
    """
    by_shape: dict[tuple, list[str]] = defaultdict(list)
    for pid in ids:
        shape = _shape(pid)
        if shape and any(k == "a" for k, _ in shape) and any(k == "d" for k, _ in shape):
            by_shape[shape].append(pid)
    schemes = []
    for shape, members in sorted(by_shape.items(), key=lambda kv: -len(kv[1])):
        if len(members) < MIN_IDS_PER_SCHEME:
            continue
        runs_by_pos: dict[int, Counter[str]] = defaultdict(Counter)
        for pid in members:
            for i, run in enumerate(r for r in _RUN.findall(pid)):
                runs_by_pos[i][run.lower()] += 1
        pieces, g = [], 0
        for i, (kind, arg) in enumerate(shape):
            if kind == "sep":
                pieces.append(f"[{re.escape(SEPARATORS)}]?")
                continue
            g += 1
            if kind == "d":
                pieces.append(f"(?P<r{g}>\\d{{{arg}}})")
            elif len(runs_by_pos[i]) <= MAX_LITERAL_VALUES:
                alts = "|".join(sorted(map(re.escape, runs_by_pos[i]), key=len, reverse=True))
                pieces.append(f"(?P<r{g}>{alts})")
            else:
                pieces.append(f"(?P<r{g}>[a-z]{{{arg}}})")
        regex = re.compile("(?<![a-z0-9])" + "".join(pieces) + "(?![a-z0-9])", re.IGNORECASE)
        letters = "".join(ch for pid in members for ch in pid if ch.isalpha())
        schemes.append(IdScheme(regex, shape, letters.isupper()))
    return tuple(schemes)
