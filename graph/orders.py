"""Order lookup and shopper verification against the graph.

Owns: reading ``(:Order)`` nodes into ``schema.types.OrderInfo`` and checking a
shopper's phone (last four digits, or the full number via its salted hash).
The phone itself is never stored; ``hash_phone`` is the one definition of the
hash, shared with ``ingest``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime

import neo4j

from graph.breaker import breaker_for
from graph.queries.orders import Q_ORDER
from schema.types import OrderInfo


def normalize_phone(phone: str) -> str:
    """Digits only, without a +86 / 0086 country prefix."""
    text = phone.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+86"):
        digits = digits[2:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def hash_phone(phone: str, salt: str) -> str:
    """Salted SHA-256 of the normalised phone number, hex."""
    return hashlib.sha256(f"{salt}:{normalize_phone(phone)}".encode()).hexdigest()


def _native(value: object) -> datetime | None:
    if value is None:
        return None
    to_native = getattr(value, "to_native", None)
    return to_native() if to_native else value  # type: ignore[return-value]


def order_from_props(props: dict) -> OrderInfo:
    items = tuple((str(i["sku"]), int(i["qty"])) for i in json.loads(props.get("items_json") or "[]"))
    return OrderInfo(
        order_id=props["order_id"],
        status=props["status"],
        created_at=_native(props.get("created_at")),
        paid_at=_native(props.get("paid_at")),
        shipped_at=_native(props.get("shipped_at")),
        carrier=props.get("carrier"),
        tracking_no=props.get("tracking_no"),
        items=items,
        address=props.get("address"),
    )


class GraphOrderService:
    """``schema.services.OrderService`` backed by Neo4j."""

    def __init__(self, driver: neo4j.Driver, database: str, salt: str) -> None:
        self._driver = driver
        self._database = database
        self._salt = salt

    def _props(self, order_id: str) -> dict | None:
        records, _, _ = breaker_for(self._driver).call(lambda: self._driver.execute_query(
            Q_ORDER, order_id=order_id.strip(), database_=self._database,
            routing_=neo4j.RoutingControl.READ,
        ))
        return dict(records[0]["props"]) if records else None

    def lookup(self, order_id: str) -> OrderInfo | None:
        props = self._props(order_id)
        return order_from_props(props) if props else None

    def verify_last4(self, order_id: str, phone_last4: str) -> bool:
        """True when ``phone_last4`` equals the last four digits of the order's phone."""
        given = re.sub(r"\D", "", phone_last4 or "")
        if len(given) != 4:
            return False
        props = self._props(order_id)
        if not props or not props.get("phone_last4"):
            return False
        return hmac.compare_digest(given, str(props["phone_last4"]))

    # The brief's name for the same check.
    verify = verify_last4

    def verify_phone(self, order_id: str, full_phone: str) -> bool:
        """True when the full phone number hashes to the order's stored hash."""
        props = self._props(order_id)
        if not props or not props.get("phone_hash"):
            return False
        return hmac.compare_digest(hash_phone(full_phone, self._salt), str(props["phone_hash"]))
