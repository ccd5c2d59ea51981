"""The flat catalogue CSV: one row per variant, grouped into product records.

Owns: the column layout ``product_id,name,brand,category,price,description,
aliases`` (aliases ``|``-separated) plus the optional variant columns
``sku,color,size,stock,variant_price``, an optional ``policies`` column
(``|``-separated policy ids) and any ``attr_<name>`` column (another variant
attribute, e.g. ``attr_storage``). Rows of one product need not be adjacent;
their product columns must agree (an empty cell agrees with anything).
A product row with an empty ``sku`` and no variant values is a product
without variants.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ingest.models import ValidationIssue
from ingest.readers import RawRecord, csv_number
from ingest.vocab import EMPTY, StoreVocabulary

PRODUCT_COLUMNS = ("product_id", "name", "brand", "category", "price", "description", "aliases")
VARIANT_COLUMNS = ("sku", "color", "size", "stock", "variant_price")
LIST_COLUMNS = ("aliases", "policies")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split("|") if part.strip()]


def _product_value(column: str, text: str) -> Any:
    if column in LIST_COLUMNS:
        return _split(text)
    if column == "price":
        return csv_number(text)
    return text


def read_catalog_csv(path: Path, display: str,
                     vocab: StoreVocabulary = EMPTY) -> tuple[list[RawRecord], list[ValidationIssue]]:
    issues: list[ValidationIssue] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        raw_header = next(reader, [])
        fields, unknown = vocab.header("products", raw_header)
        # Ignored (informational) columns get a name no layout column has.
        header = [f if f is not None else f"\0ignored{n}" for n, f in enumerate(fields)]
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if "product_id" not in header or unknown or duplicated:
            reasons = (unknown or (["missing column product_id"] if "product_id" not in header else
                                   [f"duplicated column(s) {', '.join(duplicated)}"]))
            issues += [ValidationIssue(file=display, line=1, field="(header)", reason=r) for r in reasons]
            return [], issues
        products: dict[str, RawRecord] = {}
        first_seen: dict[tuple[str, str], int] = {}
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            n = reader.line_num
            if len(row) != len(header):
                issues.append(ValidationIssue(file=display, line=n, field="(line)",
                                              reason=f"expected {len(header)} columns, got {len(row)}"))
                continue
            cells = {h: c.strip() for h, c in zip(header, row, strict=True)}
            pid = cells["product_id"]
            if not pid:
                issues.append(ValidationIssue(file=display, line=n, field="product_id",
                                              reason="Field required"))
                continue
            record = products.get(pid)
            if record is None:
                record = RawRecord(kind="products", file=display, line=n, data={"product_id": pid})
                products[pid] = record
            _merge_product_cells(record, cells, n, first_seen)
            _add_variant(record, cells, n)
    return list(products.values()), issues


def _merge_product_cells(record: RawRecord, cells: dict[str, str], n: int,
                         first_seen: dict[tuple[str, str], int]) -> None:
    pid = record.data["product_id"]
    for column in (*PRODUCT_COLUMNS[1:], "policies"):
        text = cells.get(column, "")
        if not text:
            continue
        value = _product_value(column, text)
        if column not in record.data:
            record.data[column] = value
            first_seen[(pid, column)] = n
        elif record.data[column] != value:
            first = first_seen[(pid, column)]
            record.issues.append(ValidationIssue(
                file=record.file, line=n, field=column,
                reason=f"{text!r} differs from the value on line {first} for product {pid}",
            ))


def _add_variant(record: RawRecord, cells: dict[str, str], n: int) -> None:
    sku = cells.get("sku", "")
    attributes = {k: v for k, v in cells.items() if v and (k in ("color", "size") or k.startswith("attr_"))}
    attributes = {(k[5:] if k.startswith("attr_") else k): v for k, v in attributes.items()}
    stock, price = cells.get("stock", ""), cells.get("variant_price", "")
    if not sku:
        if attributes or stock or price:
            record.issues.append(ValidationIssue(file=record.file, line=n, field="sku",
                                                 reason="required when variant columns are filled"))
        return
    variant: dict[str, Any] = {"sku": sku, "attributes": attributes}
    if stock:
        variant["stock"] = csv_number(stock, integer=True)
    if price:
        variant["price"] = csv_number(price)
    record.data.setdefault("variants", []).append(variant)
    record.variant_lines.append(n)
