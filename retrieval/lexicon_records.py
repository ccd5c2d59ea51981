"""Build a :class:`CatalogLexicon` straight from product records (no graph).

Owns: the file-based twin of ``GraphKnowledge.catalog_lexicon()``, used by
tests, benchmarks and the entity-linking evaluation set, which must not need
a running Neo4j. It follows the entry conventions of ``schema/lexicon.py``
exactly, so a linker built either way behaves the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from retrieval.errors import RetrievalError
from schema.attribute_names import lexicon_type
from schema.lexicon import CatalogLexicon, LexiconEntry, merge_entries
from schema.records import ProductRecord


class LexiconSourceError(RetrievalError):
    """A product record could not be read into lexicon entries (names the line)."""


def _attribute_entry(key: str, value: str, product_id: str) -> LexiconEntry:
    return LexiconEntry(value, lexicon_type(key), value, (product_id,), key, "attribute")


def entries_of(record: ProductRecord) -> list[LexiconEntry]:
    """All lexicon entries one product contributes."""
    pid = record.product_id
    out: list[LexiconEntry] = []
    if record.name:
        out.append(LexiconEntry(record.name, "product", pid, (pid,), None, "name"))
    out += [LexiconEntry(a, "product", pid, (pid,), None, "alias") for a in record.aliases]
    if record.brand:
        out.append(LexiconEntry(record.brand, "brand", record.brand, (pid,), None, "brand"))
    if record.category:
        parts = record.category.split("/")
        for depth in range(1, len(parts) + 1):
            out.append(LexiconEntry(parts[depth - 1], "category", "/".join(parts[:depth]),
                                    (pid,), None, "category"))
    for variant in record.variants:
        out += [_attribute_entry(k, v, pid) for k, v in variant.attributes.items()]
    for key, values in record.attributes.options().items():
        out += [_attribute_entry(key, v, pid) for v in values]
    return out


def lexicon_from_records(
    records: Iterable[ProductRecord | Mapping[str, Any]], version: str | None = None
) -> CatalogLexicon:
    """A lexicon from product records (validated dicts or ``ProductRecord``s).

    ``version`` defaults to ``"file:<fingerprint>"``.

    Raises:
        LexiconSourceError: a record does not validate (message names its position).
    """
    entries: list[LexiconEntry] = []
    for i, raw in enumerate(records):
        try:
            record = raw if isinstance(raw, ProductRecord) else ProductRecord.model_validate(raw)
        except ValidationError as e:
            raise LexiconSourceError(f"product record {i + 1}: {e}") from e
        entries += entries_of(record)
    merged = merge_entries(entries)
    lexicon = CatalogLexicon(version="", entries=merged)
    return CatalogLexicon(version=version or f"file:{lexicon.fingerprint()}", entries=merged)


def load_products_lexicon(path: Path | str, version: str | None = None) -> CatalogLexicon:
    """Read a ``products.jsonl`` file into a lexicon.

    Raises:
        LexiconSourceError: the file cannot be read or a line is not a valid product.
    """
    source = Path(path)
    rows: list[dict[str, Any]] = []
    try:
        with source.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise LexiconSourceError(f"{source}:{n}: not JSON: {e.msg}") from e
    except OSError as e:
        raise LexiconSourceError(f"cannot read {source}: {e}") from e
    return lexicon_from_records(rows, version)
