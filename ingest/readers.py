"""Finding input files and reading them into raw records with line numbers.

Owns: telling a file's kind from its name (or ``--kind``), JSON Lines parsing,
the stock CSV, and delegating the flat catalogue CSV to ``ingest.csv_catalog``.
A line that cannot be parsed becomes a ``ValidationIssue``; nothing here checks
field values (``ingest.validate`` does).
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import InputError
from ingest.models import ValidationIssue
from ingest.vocab import EMPTY, StoreVocabulary

logger = logging.getLogger(__name__)

KINDS = ("products", "policies", "faq", "orders", "stock")
KIND_ENTITY = {"products": "product", "policies": "policy", "faq": "faq", "orders": "order",
               "stock": "variant"}
KIND_ID = {"products": "product_id", "policies": "policy_id", "faq": "faq_id", "orders": "order_id",
           "stock": "sku"}
_SUFFIXES = {"products": (".jsonl", ".csv"), "policies": (".jsonl",), "faq": (".jsonl",),
             "orders": (".jsonl",), "stock": (".csv",)}
_INT = re.compile(r"^[+-]?\d+$")


@dataclass
class RawRecord:
    """One record as read: its kind, where it came from and its fields."""

    kind: str
    file: str
    line: int
    data: dict[str, Any]
    # Flat catalogue CSV: the line of each variant row, for error locations.
    variant_lines: list[int] = field(default_factory=list)
    # Problems found while reading (e.g. CSV rows of one product that disagree).
    issues: list[ValidationIssue] = field(default_factory=list)

    @property
    def entity(self) -> str:
        return KIND_ENTITY[self.kind]

    @property
    def record_id(self) -> str | None:
        value = self.data.get(KIND_ID[self.kind])
        return value if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class SourceFile:
    path: Path
    kind: str

    @property
    def display(self) -> str:
        try:
            return str(self.path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)


def kind_of(path: Path) -> str | None:
    """The kind of data a file holds, from its name (products*.jsonl, stock*.csv, ...)."""
    name = path.name.lower()
    for kind in KINDS:
        if name.startswith(kind) and name.endswith(_SUFFIXES[kind]):
            return kind
    return None


def discover(paths: Sequence[Path], kind: str | None = None) -> list[SourceFile]:
    """Expand folders (their recognised files, sorted) and assign each file a kind."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.iterdir() if p.is_file()):
                child_kind = kind or kind_of(child)
                if child_kind is None:
                    logger.info("skipping %s: not a products/policies/faq/orders/stock file", child)
                    continue
                found.append(SourceFile(child, child_kind))
        elif path.is_file():
            file_kind = kind or kind_of(path)
            if file_kind is None:
                raise InputError(
                    f"{path}: cannot tell the kind of data from the name; expected products*.jsonl|csv, "
                    "policies*.jsonl, faq*.jsonl, orders*.jsonl or stock*.csv, or pass --kind"
                )
            found.append(SourceFile(path, file_kind))
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError("no input files found")
    return found


def read_source(src: SourceFile, vocab: StoreVocabulary = EMPTY) -> tuple[list[RawRecord], list[ValidationIssue]]:
    """All records of one file plus the issues of lines that could not be parsed.

    ``vocab`` maps the store's CSV headers and order statuses (``ingest.vocab``).
    """
    try:
        if src.path.suffix.lower() == ".csv":
            if src.kind == "products":
                from ingest.csv_catalog import read_catalog_csv

                return read_catalog_csv(src.path, src.display, vocab)
            if src.kind == "stock":
                return _read_stock_csv(src.path, src.display, vocab)
            raise InputError(f"{src.display}: {src.kind} must be JSON Lines, not CSV")
        records, issues = _read_jsonl(src.path, src.display, src.kind)
        if src.kind == "orders":
            _map_orders(records, vocab)
        return records, issues
    except UnicodeDecodeError as e:
        raise InputError(f"{src.display}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise InputError(f"{src.display}: cannot read: {e.strerror}") from e


def _read_jsonl(path: Path, display: str, kind: str) -> tuple[list[RawRecord], list[ValidationIssue]]:
    records: list[RawRecord] = []
    issues: list[ValidationIssue] = []
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as e:
                issues.append(ValidationIssue(file=display, line=n, field="(line)",
                                              reason=f"malformed JSON: {e.msg} at column {e.colno}"))
                continue
            if not isinstance(data, dict):
                issues.append(ValidationIssue(file=display, line=n, field="(line)",
                                              reason=f"expected a JSON object, got {type(data).__name__}"))
                continue
            records.append(RawRecord(kind=kind, file=display, line=n, data=data))
    return records, issues


def csv_number(text: str, integer: bool = False) -> Any:
    """A CSV cell as a number when it is one; otherwise the text, for validation to reject."""
    text = text.strip()
    if _INT.match(text):
        return int(text)
    if integer:
        return text
    try:
        value = float(text)
    except ValueError:
        return text
    return value


def _map_orders(records: list[RawRecord], vocab: StoreVocabulary) -> None:
    """The store's order keys (买家ID) and statuses (交易成功) in yeban's words."""
    for raw in records:
        raw.data, problems = vocab.order_keys(raw.data)
        for key, reason in problems:
            raw.issues.append(ValidationIssue(file=raw.file, line=raw.line, field=key, reason=reason))
        if "status" not in raw.data:
            continue
        status, problem = vocab.status(raw.data["status"])
        if problem:
            raw.issues.append(ValidationIssue(file=raw.file, line=raw.line, field="status", reason=problem))
        else:
            raw.data["status"] = status


def _read_stock_csv(path: Path, display: str,
                    vocab: StoreVocabulary) -> tuple[list[RawRecord], list[ValidationIssue]]:
    records: list[RawRecord] = []
    issues: list[ValidationIssue] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        fields, problems = vocab.header("stock", header)
        present = [f for f in fields if f is not None]
        if not problems:
            if "sku" not in present or sum(f in ("stock", "delta") for f in present) != 1:
                problems = [f"expected a sku column and one stock or delta column, got {','.join(header)!r}"]
            elif len(set(present)) != len(present):
                problems = [f"two columns map to the same field in {','.join(header)!r}"]
        if problems:
            issues += [ValidationIssue(file=display, line=1, field="(header)", reason=p) for p in problems]
            return records, issues
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            n = reader.line_num
            if len(row) != len(header):
                issues.append(ValidationIssue(file=display, line=n, field="(line)",
                                              reason=f"expected {len(header)} columns, got {len(row)}"))
                continue
            data: dict[str, Any] = {}
            for target, cell in zip(fields, row, strict=True):
                if target is None:
                    continue
                value = cell.strip()
                data[target] = value if target == "sku" else (csv_number(value, integer=True) if value else None)
            records.append(RawRecord(kind="stock", file=display, line=n, data=data))
    return records, issues
