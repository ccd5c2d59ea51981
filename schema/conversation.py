"""Conversation types shared by ``dialog`` (which fills them) and ``qa_api``
(which serialises them): session context, turns, replies, hand-off tickets and
analytics events. All are JSON-serialisable so any session store can hold them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from schema.types import EntityLink, Source


class DialogState(StrEnum):
    IDLE = "idle"
    AWAIT_PRODUCT = "await_product"          # slot: which product
    AWAIT_ATTRIBUTE = "await_attribute"      # slot: colour / size of a variant
    AWAIT_ORDER_ID = "await_order_id"        # slot: order number
    AWAIT_PHONE_LAST4 = "await_phone_last4"  # slot: last four digits of the phone
    CLARIFY = "clarify"                      # waiting for 1/2/3 or a candidate choice
    ANSWERED = "answered"
    HANDOFF = "handoff"
    CLOSED = "closed"


class Turn(BaseModel):
    role: str  # shopper, bot, agent
    text: str
    at: datetime
    intent: str | None = None
    state: str | None = None
    sources: list[dict] = Field(default_factory=list)  # what a bot turn was answered from


class SessionContext(BaseModel):
    """Everything the bot remembers about one conversation."""

    session_id: str
    state: DialogState = DialogState.IDLE
    channel: str | None = None
    user_id: str | None = None
    created_at: datetime
    updated_at: datetime
    last_product_id: str | None = None
    last_variant_attrs: dict[str, str] = Field(default_factory=dict)
    last_intent: str | None = None
    pending_intent: str | None = None
    pending_slots: list[str] = Field(default_factory=list)
    pending_options: list[str] = Field(default_factory=list)  # ids offered for 1/2/3
    pending_option_kind: str | None = None  # faq or product
    order_id: str | None = None
    verified_orders: list[str] = Field(default_factory=list)
    verified_until: dict[str, datetime] = Field(default_factory=dict)  # order -> end of its open window
    failed_verifications: dict[str, int] = Field(default_factory=dict)
    locked_orders: list[str] = Field(default_factory=list)
    consecutive_fallbacks: int = 0
    emotion_trend: list[float] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    handoff_ticket_id: str | None = None
    # Product ids of the last recommendation list, for 第二个多少钱 / 第一个有L码吗.
    last_results: list[str] = Field(default_factory=list)
    # The search constraints behind last_results, for 有没有便宜点的.
    last_search: dict = Field(default_factory=dict)
    # Products the shopper discussed (search, price, stock, promotion): a lead until an order follows.
    discussed_products: list[str] = Field(default_factory=list)


class HandoffInfo(BaseModel):
    ticket_id: str
    reason: str
    queued_at: datetime
    agent_available: bool
    message: str


class ChatReply(BaseModel):
    reply: str
    intent: str
    confidence: float
    entities: list[dict] = Field(default_factory=list)
    state: DialogState
    sources: list[dict] = Field(default_factory=list)
    handoff: HandoffInfo | None = None
    suggestions: list[str] | None = None
    # Buttons a channel renders: {type: open_product | add_to_cart, label, url, product_id?, sku?}.
    actions: list[dict] = Field(default_factory=list)
    # Product cards of a recommendation or comparison: {product_id, name, price, from_price?, stock, url?}.
    products: list[dict] = Field(default_factory=list)
    # The server-issued conversation id; the API always sets it (send it back with the next message).
    session_id: str = ""

    @staticmethod
    def entity_dict(link: EntityLink) -> dict:
        return {"text": link.text, "type": link.type, "value": link.value,
                "score": round(link.score, 3), "candidates": list(link.candidates)}

    @staticmethod
    def source_dict(source: Source) -> dict:
        return {"kind": source.kind, "id": source.id}


class HandoffTicket(BaseModel):
    ticket_id: str
    session_id: str
    status: str = "queued"  # queued, claimed, closed
    reason: str  # anger, explicit, repeated_fallback, dispute, verification_locked
    intent: str | None = None
    entities: list[dict] = Field(default_factory=list)
    transcript: list[Turn] = Field(default_factory=list)
    suggested_replies: list[str] = Field(default_factory=list)
    created_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    closed_at: datetime | None = None
    # After hours: the shopper waits for the morning; priority orders the queue (0 first).
    waiting: bool = False
    priority: int | None = None
    # A callback number the shopper left; kept only on the ticket, erased with the session.
    callback_phone: str | None = None
    cancelled: bool = False


class ConversationEvent(BaseModel):
    """One handled message, recorded so analytics are computed, not estimated."""

    session_id: str
    at: datetime
    message: str
    intent: str
    confidence: float
    state: str
    resolved: bool  # answered from sources without fallback or hand-off
    fallback: bool
    handoff_reason: str | None = None
    latency_ms: float
    channel: str | None = None
    user_id: str | None = None
    # Products the reply was about (search, price, stock, promotion): the session is a lead.
    product_ids: list[str] = Field(default_factory=list)
    # Orders the shopper proved are theirs so far: their phone hash links later orders to the session.
    verified_orders: list[str] = Field(default_factory=list)
