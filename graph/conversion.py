"""Order facts for conversion attribution, read from the graph."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graph.driver import GraphReader
from graph.queries import conversion as q


@dataclass(frozen=True)
class OrderFact:
    order_id: str
    created_at: datetime
    amount: float
    phone_hash: str | None = None
    user_id: str | None = None
    status: str | None = None
    product_ids: tuple[str, ...] = ()


def _native(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value.to_native() if hasattr(value, "to_native") else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class OrderFacts(GraphReader):
    """The facts of loaded orders that conversion attribution needs."""

    def orders(self, order_ids: Sequence[str]) -> list[OrderFact]:
        out = []
        for r in self._read(q.Q_ORDER_FACTS, ids=list(dict.fromkeys(order_ids))):
            created = _native(r["created_at"])
            if created is None:
                continue
            out.append(OrderFact(r["order_id"], created, float(r["amount"] or 0.0), r["phone_hash"], r["user_id"],
                                 r["status"], tuple(r["product_ids"] or ())))
        return out

    def phone_hashes(self, order_ids: Sequence[str]) -> dict[str, str]:
        return {r["order_id"]: r["phone_hash"] for r in self._read(q.Q_PHONE_HASHES, ids=list(order_ids))
                if r["phone_hash"]}
