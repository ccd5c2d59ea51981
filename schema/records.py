"""Input record models for the store data the ingest pipeline loads.

Owns: the accepted shape of one line of ``products*.jsonl`` (and one grouped
product of a flat catalogue CSV), ``policies*.jsonl``, ``faq*.jsonl``,
``orders*.jsonl`` and one row of a ``stock*.csv``, plus their JSON Schema
export (``python -m schema.records --json-schema`` writes
``schema/json/*.schema.json``).

Rules the models enforce: ids are non-empty and free of whitespace; prices are
JSON numbers (not strings, not booleans), at least 0; stock is a whole number
of at least 0; dates are ISO 8601 (a naive time is read as China time,
UTC+08:00; ``YYYY-MM-DD HH:MM:SS`` works too); a policy date given as a bare
``YYYY-MM-DD`` is a China-time day and both ends are inclusive, so a bare
``effective_to`` is stored as the next day's 00:00+08:00 (the end is exclusive
in the graph); order statuses come from ``ORDER_STATUSES`` (a store's own
words are mapped by ``ingest.vocab`` before validation). Attribute names are
letters, digits or ``_`` of any script (``颜色``, ``适用车型``, ``color``),
kept as written and checked by ``schema.attribute_names`` against reserved
fields after normalisation. Unknown fields are rejected everywhere, except that
a product may carry free-form option lists under ``attributes`` (the seed
record's ``{"颜色": [...], "尺寸": [...], "stock": 150}``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from schema.attribute_names import check_distinct, check_name

CHINA_TZ = timezone(timedelta(hours=8), "CST")
ORDER_STATUSES = ("待付款", "已付款", "已发货", "已签收", "已取消", "退款中", "已退款")
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_id(value: str) -> str:
    if len(value.split()) != 1 or value.strip() != value:
        raise ValueError("must not contain whitespace")
    return value


def _aware(value: datetime) -> datetime:
    """Give a naive time the store's zone and normalise every time to it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA_TZ)
    return value.astimezone(CHINA_TZ)


def _category_path(value: str) -> str:
    parts = [p.strip() for p in value.split("/")]
    if not parts or any(not p for p in parts):
        raise ValueError("must be a path like 服装/女装/连衣裙 with no empty segment")
    return "/".join(parts)


def _scalar_text(value: Any) -> Any:
    """Attribute values may be typed as numbers (shoe size 38); store them as text."""
    if isinstance(value, bool):
        return value  # left for the str validator to reject
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return value


@lru_cache(maxsize=1024)
def _attr_name(value: str) -> str:
    return check_name(value)


def _day_start(value: Any) -> Any:
    """A bare policy date ``YYYY-MM-DD`` starts at 00:00 China time that day."""
    if isinstance(value, str) and _BARE_DATE.match(value.strip()):
        return f"{value.strip()}T00:00:00+08:00"
    return value


def _day_end(value: Any) -> Any:
    """A bare ``effective_to`` includes that whole day: the end is the next day's 00:00+08:00."""
    if isinstance(value, str) and _BARE_DATE.match(value.strip()):
        try:
            day = datetime.strptime(value.strip(), "%Y-%m-%d")
        except ValueError:
            return value  # left for the datetime validator to reject
        return (day + timedelta(days=1)).replace(tzinfo=CHINA_TZ).isoformat()
    return value


Id = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_check_id)]
Text = Annotated[str, Field(min_length=1)]
Price = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Stock = Annotated[int, Field(strict=True, ge=0)]
Delta = Annotated[int, Field(strict=True)]
Quantity = Annotated[int, Field(strict=True, ge=1)]
When = Annotated[datetime, AfterValidator(_aware)]
CategoryPath = Annotated[str, Field(min_length=1), AfterValidator(_category_path)]
AttrValue = Annotated[str, BeforeValidator(_scalar_text), Field(min_length=1)]
AttrName = Annotated[str, AfterValidator(_attr_name)]
PolicyStart = Annotated[datetime, BeforeValidator(_day_start), AfterValidator(_aware)]
PolicyEnd = Annotated[datetime, BeforeValidator(_day_end), AfterValidator(_aware)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# --- products -----------------------------------------------------------------
class VariantRecord(_Record):
    """One sellable variant (SKU) of a product."""

    sku: Id
    attributes: dict[AttrName, AttrValue] = Field(default_factory=dict)
    stock: Stock
    price: Price | None = None

    @field_validator("attributes")
    @classmethod
    def _distinct_names(cls, value: dict[str, str]) -> dict[str, str]:
        check_distinct(value)
        return value


class InlineFAQ(_Record):
    """A question attached to one product; stored as FAQ ``<product_id>-FAQ-<n>``."""

    q: Text
    a: Text


class ProductAttributes(BaseModel):
    """Product-level options for records without variants.

    ``stock`` is the product's total stock; every other key is an option name
    (``size``, ``color``, ...) with one value or a list of values.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, list[AttrValue] | AttrValue] = Field(init=False)

    stock: Stock | None = None

    @model_validator(mode="after")
    def _names(self) -> ProductAttributes:
        names = list(self.__pydantic_extra__ or {})
        for name in names:
            _attr_name(name)
        check_distinct(names)
        return self

    def options(self) -> dict[str, list[str]]:
        """Option name -> list of values, in the record's order."""
        out: dict[str, list[str]] = {}
        for name, value in (self.__pydantic_extra__ or {}).items():
            out[name] = list(value) if isinstance(value, list) else [value]
        return out


class ProductRecord(_Record):
    """A product, with its variants, policy references and inline FAQ."""

    product_id: Id
    name: Text | None = None
    brand: Text | None = None
    category: CategoryPath | None = None
    price: Price | None = None
    description: str | None = None
    aliases: list[Text] = Field(default_factory=list)
    variants: list[VariantRecord] = Field(default_factory=list)
    policies: list[Id] = Field(default_factory=list)
    faq: list[InlineFAQ] = Field(default_factory=list)
    attributes: ProductAttributes = Field(default_factory=ProductAttributes)


# --- policies -------------------------------------------------------------------
class Targets(_Record):
    """What a policy applies to or excludes; categories are path prefixes."""

    categories: list[CategoryPath] = Field(default_factory=list)
    brands: list[Text] = Field(default_factory=list)
    products: list[Id] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.categories or self.brands or self.products)


class ClauseRecord(_Record):
    text: Text


class PolicyRecord(_Record):
    """A store policy made of ordered clauses, in force between two times.

    A policy with an empty ``applies_to`` applies store-wide.
    """

    policy_id: Id
    title: Text
    version: Annotated[str, BeforeValidator(_scalar_text)] = "1"
    clauses: list[ClauseRecord] = Field(min_length=1)
    applies_to: Targets = Field(default_factory=Targets)
    excludes: Targets = Field(default_factory=Targets)
    effective_from: PolicyStart
    effective_to: PolicyEnd | None = None

    @field_validator("clauses", mode="before")
    @classmethod
    def _plain_clauses(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"text": c} if isinstance(c, str) else c for c in value]
        return value

    @model_validator(mode="after")
    def _window(self) -> PolicyRecord:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be later than effective_from")
        return self


# --- FAQ ----------------------------------------------------------------------------
class About(_Record):
    """What an FAQ entry is about: a product, a category and/or a policy."""

    product_id: Id | None = None
    category: CategoryPath | None = None
    policy_id: Id | None = None


class FAQRecord(_Record):
    faq_id: Id
    question: Text
    answer: Text
    paraphrases: list[Text] = Field(default_factory=list)
    tags: list[Text] = Field(default_factory=list)
    about: About | None = None


# --- orders ---------------------------------------------------------------------------
def _phone_digits(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits.isdigit() or not 5 <= len(digits) <= 15:
        raise ValueError("must be a phone number of 5 to 15 digits")
    return digits


class OrderItem(_Record):
    sku: Id
    qty: Quantity


class OrderRecord(_Record):
    """A shopper's order. The phone is hashed on load and never stored in clear."""

    order_id: Id
    phone: Annotated[str, BeforeValidator(_phone_digits)]
    # The shop platform's buyer account, when the export has one: conversion
    # attribution matches it against the chat's user_id (dialog.conversion).
    user_id: Id | None = None
    status: Literal["待付款", "已付款", "已发货", "已签收", "已取消", "退款中", "已退款"]
    items: list[OrderItem] = Field(min_length=1)
    created_at: When
    paid_at: When | None = None
    shipped_at: When | None = None
    carrier: Text | None = None
    tracking_no: Text | None = None
    address: Text | None = None

    @model_validator(mode="after")
    def _timeline(self) -> OrderRecord:
        if self.paid_at is not None and self.paid_at < self.created_at:
            raise ValueError("paid_at is earlier than created_at")
        if self.shipped_at is not None:
            start = self.paid_at or self.created_at
            if self.shipped_at < start:
                raise ValueError("shipped_at is earlier than paid_at/created_at")
        return self


# --- stock updates --------------------------------------------------------------------
class StockUpdate(_Record):
    """One row of a stock CSV: an absolute ``stock`` or a signed ``delta``."""

    sku: Id
    stock: Stock | None = None
    delta: Delta | None = None

    @model_validator(mode="after")
    def _one_of(self) -> StockUpdate:
        if (self.stock is None) == (self.delta is None):
            raise ValueError("give exactly one of stock or delta")
        return self


RECORD_MODELS: dict[str, type[BaseModel]] = {
    "product": ProductRecord,
    "policy": PolicyRecord,
    "faq": FAQRecord,
    "order": OrderRecord,
    "stock_update": StockUpdate,
}
JSON_SCHEMA_DIR = Path(__file__).resolve().parent / "json"


def write_json_schemas(directory: Path = JSON_SCHEMA_DIR) -> list[Path]:
    """Write one ``<kind>.schema.json`` per record model; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, model in RECORD_MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"yeban/{kind}.schema.json"
        path = directory / f"{kind}.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schema.records", description=__doc__)
    parser.add_argument("--json-schema", action="store_true", help="write schema/json/*.schema.json")
    parser.add_argument("--out", type=Path, default=JSON_SCHEMA_DIR, help="output folder")
    args = parser.parse_args(argv)
    if not args.json_schema:
        parser.print_help()
        return 2
    for path in write_json_schemas(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
