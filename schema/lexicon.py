"""The catalogue lexicon: every surface form a shopper may type for a graph thing.

Owns: the typed hand-over between ``graph`` (``GraphKnowledge.catalog_lexicon()``
reads names, aliases, brands, categories and attribute values out of Neo4j)
and ``retrieval`` (the entity linker builds its dictionary from it). Plain
frozen dataclasses, no I/O.

Entry conventions (one entry per (surface, type, value)):

==========  ======================  ==========================  ==========================
type        surface                 value                       attribute
==========  ======================  ==========================  ==========================
product     Product.name or alias   product_id                  None
brand       Brand.name              Brand.name                  None
category    Category.name (a path   Category.path ("服装/女装/   None
            segment)                连衣裙")
color       a colour value          the value as stored         "color"
size        a size value            the value as stored         "size"
attribute   any other variant/      the value as stored         the property name
            option value (storage,                              ("storage", "spec", ...)
            spec, ...)
==========  ======================  ==========================  ==========================

``product_ids`` lists the products the entry points to (for a product entry:
itself; for a brand, category or attribute value: every product that has it),
sorted. ``source`` says where the surface came from: name, alias, brand,
category, attribute.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

ENTITY_TYPES = ("product", "brand", "category", "color", "size", "attribute")


@dataclass(frozen=True)
class LexiconEntry:
    surface: str
    type: str
    value: str
    product_ids: tuple[str, ...] = ()
    attribute: str | None = None
    source: str = ""


@dataclass(frozen=True)
class CatalogLexicon:
    """All entries plus the knowledge version they were read at.

    ``version`` is the graph's ``KnowledgeVersion.version`` as a string (or any
    label for lexicons built from files, e.g. ``"file:<sha>"``).
    """

    version: str
    entries: tuple[LexiconEntry, ...] = field(default=())

    def of_type(self, type_: str) -> tuple[LexiconEntry, ...]:
        return tuple(e for e in self.entries if e.type == type_)

    def values(self, type_: str) -> tuple[str, ...]:
        """Distinct values of one type, in first-seen order."""
        return tuple(dict.fromkeys(e.value for e in self.entries if e.type == type_))

    def fingerprint(self) -> str:
        """A short content hash (entries order-independent), for cache paths."""
        h = hashlib.sha256()
        for e in sorted(self.entries, key=_sort_key):
            h.update("\x1f".join(
                (e.surface, e.type, e.value, ",".join(e.product_ids), e.attribute or "", e.source)
            ).encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()[:16]


def _sort_key(e: LexiconEntry) -> tuple[str, str, str, str]:
    return (e.type, e.value, e.surface, e.source)


def merge_entries(entries: Iterable[LexiconEntry]) -> tuple[LexiconEntry, ...]:
    """Merge duplicates of (surface, type, value, attribute), uniting their product ids.

    Keeps the first entry's ``source``; output is sorted for determinism.
    """
    merged: dict[tuple[str, str, str, str | None], LexiconEntry] = {}
    for e in entries:
        surface = e.surface.strip()
        if not surface:
            continue
        key = (surface, e.type, e.value, e.attribute)
        old = merged.get(key)
        if old is None:
            merged[key] = LexiconEntry(surface, e.type, e.value, tuple(sorted(set(e.product_ids))),
                                       e.attribute, e.source)
        else:
            ids = tuple(sorted(set(old.product_ids) | set(e.product_ids)))
            merged[key] = LexiconEntry(surface, e.type, e.value, ids, e.attribute, old.source)
    return tuple(sorted(merged.values(), key=_sort_key))
