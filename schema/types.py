"""Typed objects that cross package boundaries.

``graph`` returns these from its read queries, ``retrieval`` returns links and
hits, ``dialog`` builds answers from them and ``qa_api`` serialises them. They
are frozen dataclasses: cheap, hashable, and free of any client object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


# --- graph facts ----------------------------------------------------------
@dataclass(frozen=True)
class VariantInfo:
    sku: str
    product_id: str
    stock: int
    price: float | None
    attributes: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ProductInfo:
    product_id: str
    name: str | None
    brand: str | None
    category: str | None
    price: float | None
    description: str | None
    aliases: tuple[str, ...] = ()
    # Product-level attribute options, for records that give lists, not variants.
    options: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    total_stock: int | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.product_id


@dataclass(frozen=True)
class ClauseInfo:
    clause_id: str
    policy_id: str
    policy_title: str
    text: str
    order: int
    # The policy's window, so cached clauses can be filtered by date without the graph.
    effective_from: datetime | None = None
    effective_to: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        """True when the clause's policy is effective at ``at`` (unknown bounds count as open)."""
        return ((self.effective_from is None or self.effective_from <= at)
                and (self.effective_to is None or at < self.effective_to))


@dataclass(frozen=True)
class FAQInfo:
    faq_id: str
    question: str
    answer: str
    paraphrases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # The product the FAQ is about (a product's own FAQ), for the ranking across sources.
    about_product: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OrderInfo:
    order_id: str
    status: str
    created_at: datetime | None
    paid_at: datetime | None
    shipped_at: datetime | None
    carrier: str | None
    tracking_no: str | None
    items: tuple[tuple[str, int], ...] = ()  # (sku, qty)
    address: str | None = None


# --- understanding ----------------------------------------------------------
@dataclass(frozen=True)
class EntityLink:
    """A span of the message linked to the graph (or recognised by pattern).

    ``type`` is one of product, brand, category, color, size, attribute,
    order_id, phone. ``candidates`` holds the other graph ids when the span
    is ambiguous, best first.
    """

    text: str
    start: int
    end: int
    type: str
    value: str
    score: float
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntentPrediction:
    intent: str
    confidence: float
    unsure: bool
    ranking: tuple[tuple[str, float], ...] = ()


# --- retrieval ----------------------------------------------------------------
@dataclass(frozen=True)
class RetrievalHit:
    """One FAQ entry or policy clause found for a query; ``kind`` is faq or clause."""

    kind: str
    id: str
    score: float
    text: str
    dense_score: float | None = None
    keyword_score: float | None = None


# --- answers --------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """Where a fact in a reply came from: a graph id, FAQ id or clause id."""

    kind: str  # product, variant, policy, clause, faq, order
    id: str
