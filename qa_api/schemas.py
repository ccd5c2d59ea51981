"""Request and response bodies of the HTTP API (pydantic), the source of the
OpenAPI components. Shared conversation types come from ``schema.conversation``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic.json_schema import SkipJsonSchema

from ingest.models import ChangeSet
from qa_api.clusters import QuestionCluster
from schema.conversation import ChatReply, HandoffTicket
from schema.records import FAQRecord, OrderRecord, PolicyRecord, ProductRecord, StockUpdate
from schema.types import ProductInfo, VariantInfo

MAX_MESSAGE_CHARS = 500
SESSION_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"
# Text that is more than whitespace: the schema says so with a pattern, since the request models strip it.
# Python's str.strip also removes \x1c-\x1f and \x85, which ECMAScript's \s (the schema's) does not.
_NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, str_strip_whitespace=True)


# --- chat ---------------------------------------------------------------------
class ChatRequest(_Request):
    session_id: str | None = Field(
        default=None, pattern=SESSION_ID_PATTERN,
        description="the session_id of the previous reply; omit it to start a conversation (the server "
                    "issues ids: an id it did not issue starts a fresh session with a new id)")
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, pattern=_NOT_BLANK)
    channel: str | None = Field(default=None, max_length=32)
    user_id: str | None = Field(default=None, max_length=128)


# --- sessions ---------------------------------------------------------------------
class ErasureResult(BaseModel):
    session_id: str
    session_deleted: bool
    tickets_deleted: int
    events_deleted: int
    other_deleted: dict[str, int] = Field(default_factory=dict, description="records removed from other stores "
                                          "holding the session (e.g. leads), by store name")


# --- hand-offs ---------------------------------------------------------------------
class HandoffListQuery(_Request):
    status: Literal["queued", "claimed", "closed"] | None = None
    # priority: the morning queue (queued only; anger and complaints, then pre-sales, then the rest, oldest first)
    order: Literal["created", "priority"] = "created"


class TicketList(BaseModel):
    tickets: list[HandoffTicket]


class AgentReplyRequest(_Request):
    text: str = Field(min_length=1, max_length=2000, pattern=_NOT_BLANK)


# --- operators ------------------------------------------------------------------------
RecordKind = Literal["products", "policies", "faq", "orders", "stock"]
RECORD_KIND_MODELS: dict[str, type[BaseModel]] = {
    "products": ProductRecord, "policies": PolicyRecord, "faq": FAQRecord, "orders": OrderRecord,
    "stock": StockUpdate,
}


class ChangeSetJsonRequest(_Request):
    """Records of one kind, each in the format of the matching input file line."""

    kind: RecordKind
    records: list[dict[str, Any]] = Field(min_length=1, max_length=50_000)
    prune: bool = False

    def typed_records(self) -> list[BaseModel]:
        """The records validated by their ``schema.records`` model (``ValidationError`` names the item)."""
        model = RECORD_KIND_MODELS[self.kind]
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        return adapter.validate_python(self.records)


class ChangeSetUpload(BaseModel):
    """multipart/form-data: one input ``file`` (products*.jsonl, stock*.csv, ...), an optional ``kind``
    when the file name does not tell it, and ``prune``."""

    file: bytes = Field(json_schema_extra={"format": "binary"})
    kind: RecordKind | SkipJsonSchema[None] = None  # optional, never null: a form field is text
    prune: bool = False


class ChangeSetList(BaseModel):
    change_sets: list[ChangeSet]


class VariantOut(BaseModel):
    sku: str
    product_id: str
    stock: int
    price: float | None
    attributes: dict[str, str]

    @classmethod
    def of(cls, v: VariantInfo) -> VariantOut:
        return cls(sku=v.sku, product_id=v.product_id, stock=v.stock, price=v.price,
                   attributes=dict(v.attributes))


class ProductOut(BaseModel):
    product_id: str
    name: str | None
    brand: str | None
    category: str | None
    price: float | None
    description: str | None
    aliases: list[str]
    options: dict[str, list[str]]
    total_stock: int | None
    variants: list[VariantOut]

    @classmethod
    def of(cls, p: ProductInfo, variants: list[VariantInfo]) -> ProductOut:
        return cls(product_id=p.product_id, name=p.name, brand=p.brand, category=p.category, price=p.price,
                   description=p.description, aliases=list(p.aliases),
                   options={k: list(v) for k, v in p.options.items()}, total_stock=p.total_stock,
                   variants=[VariantOut.of(v) for v in variants])


# --- analytics --------------------------------------------------------------------------
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def _aware(moment: datetime | None, tz: tzinfo) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=tz)


class AnalyticsQuery(_Request):
    model_config = ConfigDict(strict=False, populate_by_name=True)
    start: datetime | SkipJsonSchema[None] = Field(
        default=None, alias="from",
        description="ISO date or datetime (from <= at < to; from >= to is an empty window); naive values are "
                    "store time")
    end: datetime | SkipJsonSchema[None] = Field(default=None, alias="to", description="ISO date or datetime")

    def window(self, tz: tzinfo, default: timedelta) -> tuple[datetime, datetime]:
        """The half-open window ``[start, end)`` in aware datetimes: naive bounds are taken in ``tz``, a
        missing end is now and a missing start is ``default`` before the end. ``from >= to`` is an empty
        window (no events, zero figures), as the half-open interval says, not an error."""
        end = _aware(self.end, tz) or datetime.now(tz)
        start = _aware(self.start, tz)
        if start is None:
            start = end - default if end - datetime.min.replace(tzinfo=UTC) > default else end
        return (start, max(start, end))

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_only(cls, value: Any) -> Any:
        """Only ISO 8601 text: pydantic would otherwise read ``0.5`` as a Unix time."""
        if value is None or isinstance(value, datetime):
            return value
        if not isinstance(value, str) or not _ISO_MOMENT.match(value.strip()):
            raise ValueError("must be an ISO date or datetime, e.g. 2026-11-25 or 2026-11-25T14:00:00+08:00")
        return value.strip()


# --- health -------------------------------------------------------------------------------
class HealthOut(BaseModel):
    status: Literal["ok"]


class CheckOut(BaseModel):
    ok: bool
    detail: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ReadinessOut(BaseModel):
    status: Literal["ready", "degraded", "not_ready"]
    checks: dict[str, CheckOut]
    # Present on 503, so that every 5xx carries the API's usual error body.
    error: ErrorBody | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


# --- consoles ---------------------------------------------------------------------------------
class IdentityOut(BaseModel):
    name: str
    role: str


class ConsoleTicket(BaseModel):
    ticket: HandoffTicket
    priority: int
    products: list[dict[str, Any]] = Field(description="products the conversation mentions: "
                                                       "product_id, name, price, stock")
    sources: list[dict[str, Any]] = Field(description="what the bot's answers in the transcript came from")
    channel: str | None = None


class TryQuestionRequest(_Request):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, pattern=_NOT_BLANK)


class TryQuestionOut(BaseModel):
    session_id: str = Field(description="the throwaway session (already erased)")
    reply: ChatReply


class FaqFromAnswerRequest(_Request):
    question: str = Field(min_length=1, max_length=500, pattern=_NOT_BLANK)
    answer: str = Field(min_length=1, max_length=2000, pattern=_NOT_BLANK)
    paraphrases: list[Annotated[str, Field(min_length=1, max_length=500, pattern=_NOT_BLANK)]] = Field(
        default_factory=list, max_length=20)
    ticket_id: str | None = Field(default=None, max_length=64)


class UnansweredClusters(BaseModel):
    clusters: list[QuestionCluster]
