"""A store's own vocabulary, mapped onto yeban's: order statuses and CSV column headers.

Owns: reading and checking the map files behind ``python -m ingest load
--status-map FILE --columns FILE`` and applying them while the input is read.

*Status map*: a JSON object ``{"store's word": "canonical status"}``, e.g.
``{"待发货": "已付款", "交易成功": "已签收"}``. Every target must be one of
``schema.records.ORDER_STATUSES``. A canonical status needs no entry; any other
word is a ``file:line status`` error that names it and says to extend the map.

*Column map*: a JSON object ``{"header": "field"}`` that applies to every CSV
file, or one such object per kind under ``"products"`` / ``"stock"`` (both forms
may be mixed: a kind's own entries win). An ``"orders"`` object renames the
keys of order records (JSON Lines) the same way, e.g. ``{"orders": {"买家ID":
"user_id"}}``; the flat form does not apply to orders. A field is a column of that kind's CSV
layout (products: ``product_id name brand category price description aliases
policies sku color size stock variant_price attr_<name>``; stock: ``sku stock
delta``), or ``null`` / ``"-"`` for an informational column that is read and
ignored. Headers not in the map resolve through the column's own name and then
the general export vocabulary in ``ingest/column_names.json`` (common Chinese
ERP/platform headers such as a product-name column, never one store's words);
anything else is a ``file:1 (header)`` error naming the header and the map to
extend. Nothing is written when any of this fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.errors import InputError
from schema.attribute_names import norm
from schema.records import ORDER_STATUSES

COLUMN_NAMES_FILE = Path(__file__).resolve().parent / "column_names.json"
IGNORE = None
_IGNORE_MARKERS = (None, "-")
CSV_KINDS = ("products", "stock")
PRODUCT_CSV_FIELDS = ("product_id", "name", "brand", "category", "price", "description", "aliases", "policies",
                      "sku", "color", "size", "stock", "variant_price")
STOCK_CSV_FIELDS = ("sku", "stock", "delta")
ORDER_FIELDS = ("order_id", "phone", "user_id", "status", "items", "created_at", "paid_at", "shipped_at", "carrier",
                "tracking_no", "address")
MAPPED_KINDS = (*CSV_KINDS, "orders")
# Columns a stock file may carry for people (the product's name): read, not stored.
STOCK_INFORMATIONAL = ("name",)


def _valid_field(kind: str, target: str) -> bool:
    if kind == "orders":
        return target in ORDER_FIELDS
    if kind == "stock":
        return target in STOCK_CSV_FIELDS or target in STOCK_INFORMATIONAL
    return target in PRODUCT_CSV_FIELDS or (target.startswith("attr_") and len(target) > 5)


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: the {what} is not JSON: {e.msg}") from e
    if not isinstance(data, dict):
        raise InputError(f"{path}: the {what} must be a JSON object")
    return data


@lru_cache(maxsize=1)
def general_columns() -> dict[str, dict[str, str]]:
    """kind -> normalised header -> field, from ``column_names.json`` (checked on first use)."""
    data = json.loads(COLUMN_NAMES_FILE.read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for kind in MAPPED_KINDS:
        table: dict[str, str] = {}
        for target, headers in data.get(kind, {}).items():
            if not _valid_field(kind, target):
                raise InputError(f"{COLUMN_NAMES_FILE.name}: {kind}: {target!r} is not a {kind} CSV column")
            for header in headers:
                key = norm(header)
                if table.get(key, target) != target:
                    raise InputError(f"{COLUMN_NAMES_FILE.name}: {kind}: {header!r} maps to two columns")
                table[key] = target
        out[kind] = table
    return out


@dataclass(frozen=True)
class StoreVocabulary:
    """The maps of one load; the empty vocabulary accepts yeban's own words only."""

    statuses: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    status_file: str | None = None
    columns_file: str | None = None

    @classmethod
    def from_files(cls, status_map: Path | None = None, columns: Path | None = None) -> StoreVocabulary:
        """Read and check both maps.

        Raises:
            InputError: a file is unreadable or not a JSON object, a status maps
                to a non-canonical status, or a column maps to no field of its kind.
        """
        statuses: dict[str, str] = {}
        if status_map is not None:
            for word, target in _read_json_object(status_map, "status map").items():
                if target not in ORDER_STATUSES:
                    raise InputError(f"{status_map}: {word!r} maps to {target!r}, which is not a status; "
                                     f"use one of {' '.join(ORDER_STATUSES)}")
                statuses[word.strip()] = target
        by_kind: dict[str, dict[str, str | None]] = {kind: {} for kind in MAPPED_KINDS}
        if columns is not None:
            data = _read_json_object(columns, "column map")
            flat = {k: v for k, v in data.items() if k not in MAPPED_KINDS}
            for kind in MAPPED_KINDS:
                section = data.get(kind, {})
                if not isinstance(section, dict):
                    raise InputError(f"{columns}: {kind!r} must be an object of header -> field")
                for header, target in ({**flat, **section} if kind in CSV_KINDS else section).items():
                    if target in _IGNORE_MARKERS:
                        by_kind[kind][norm(header)] = IGNORE
                    elif isinstance(target, str) and _valid_field(kind, target):
                        by_kind[kind][norm(header)] = target
                    elif header in section:
                        raise InputError(f"{columns}: {kind}: {header!r} maps to {target!r}, which is not a "
                                         f"{kind} CSV column (or null to ignore it)")
        return cls(statuses, by_kind, str(status_map) if status_map else None,
                   str(columns) if columns else None)

    # --- statuses ---------------------------------------------------------------------
    def status(self, word: Any) -> tuple[Any, str | None]:
        """(canonical status, None) or (the word unchanged, the reason it is refused)."""
        if not isinstance(word, str) or word in ORDER_STATUSES:
            return word, None
        mapped = self.statuses.get(word.strip())
        if mapped is not None:
            return mapped, None
        where = f"the status map ({self.status_file})" if self.status_file else "a status map (--status-map FILE)"
        return word, (f"unknown order status {word!r}: not one of {' '.join(ORDER_STATUSES)}; "
                      f"add it to {where}, e.g. {{{json.dumps(word, ensure_ascii=False)}: \"已付款\"}}")

    # --- columns ----------------------------------------------------------------------
    def column(self, kind: str, header: str) -> tuple[str | None, str | None]:
        """(field or None to ignore, None) or (None, the reason the header is unknown)."""
        key = norm(header)
        own = self.columns.get(kind, {})
        if key in own:
            return own[key], None
        if _valid_field(kind, header.strip()) or _valid_field(kind, header.strip().lower()):
            return header.strip().lower() if not header.strip().startswith("attr_") else header.strip(), None
        general = general_columns()[kind].get(key)
        if general is not None:
            return general, None
        where = f"the column map ({self.columns_file})" if self.columns_file else "a column map (--columns FILE)"
        return None, (f"unknown column {header!r}: add it to {where} as "
                      f"{{{json.dumps(header, ensure_ascii=False)}: \"<field>\"}}, or null to ignore it")

    def order_keys(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """An order record with the store's key names renamed to yeban's, and (key, reason) for unknown keys.

        Keys already named like an order field stay; a key the maps ignore is
        dropped; two keys naming one field is a problem of the second.
        """
        out: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for key, value in data.items():
            if key in ORDER_FIELDS:
                target = key
            else:
                target, problem = self.column("orders", key)
                if problem:
                    where = f"the column map ({self.columns_file})" if self.columns_file else "a column map (--columns FILE)"
                    problems.append((key, f"unknown order field {key!r}: not one of {' '.join(ORDER_FIELDS)}; add it to "
                                          f"{where} under \"orders\", e.g. {{\"orders\": "
                                          f"{{{json.dumps(key, ensure_ascii=False)}: \"user_id\"}}}}, or null to ignore it"))
                    continue
                if target is None:
                    continue
            if target in out:
                problems.append((key, f"{key!r} and another key both give the order's {target}"))
                continue
            out[target] = value
        return out, problems

    def header(self, kind: str, headers: list[str]) -> tuple[list[str | None], list[str]]:
        """Fields of a CSV header row (None = ignored column) and the reasons for unknown headers."""
        fields: list[str | None] = []
        problems: list[str] = []
        for h in headers:
            target, problem = self.column(kind, h)
            fields.append(target)
            if problem:
                problems.append(problem)
        if kind == "stock":
            fields = [None if f in STOCK_INFORMATIONAL else f for f in fields]
        return fields, problems


EMPTY = StoreVocabulary()
