"""Protocols for the services the dialogue layer and the API depend on.

Owns: the seams between ``dialog`` / ``qa_api`` and their data sources, so
those packages never import ``graph`` directly and tests can hand them any
implementation. ``graph.orders.GraphOrderService`` and
``graph.knowledge.GraphKnowledge`` implement them over Neo4j.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from schema.lexicon import CatalogLexicon
from schema.types import ClauseInfo, FAQInfo, OrderInfo, ProductInfo, VariantInfo


@runtime_checkable
class OrderService(Protocol):
    def lookup(self, order_id: str) -> OrderInfo | None:
        """The order, or None when no order has that id."""
        ...

    def verify_last4(self, order_id: str, phone_last4: str) -> bool:
        """True when the order exists and its phone ends with these four digits."""
        ...


@runtime_checkable
class KnowledgeSource(Protocol):
    def knowledge_version(self) -> int: ...

    def product(self, product_id: str) -> ProductInfo | None: ...

    def products(self, product_ids: Sequence[str]) -> list[ProductInfo]: ...

    def products_of_skus(self, skus: Sequence[str]) -> list[str]:
        """The product ids of these SKUs (an order's items), first seen first."""
        ...

    def variants(self, product_id: str, **attr_filters: str) -> list[VariantInfo]: ...

    def in_stock_values(self, product_id: str, attr: str) -> list[str]: ...

    def cheapest(self, category_prefix: str | None = None, product_ids: Sequence[str] | None = None,
                 in_stock_only: bool = True) -> ProductInfo | None: ...

    def clauses_in_force(self, product_id: str | None = None, category: str | None = None,
                         at: datetime | None = None) -> list[ClauseInfo]: ...

    def policy(self, policy_id: str) -> list[ClauseInfo]: ...

    def all_clauses(self) -> list[ClauseInfo]: ...

    def faq(self, faq_id: str) -> FAQInfo | None: ...

    def all_faq(self) -> list[FAQInfo]: ...

    def catalog_lexicon(self) -> CatalogLexicon: ...
