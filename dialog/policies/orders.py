"""Order questions: ask for the order number and the phone's last four digits
as slots, and reveal nothing about an order until both are right.

A verified order stays open to its session for ``verified_ttl_s`` (default
30 minutes), then the digits are asked again. Failures also count in the
``OrderGuard`` (per order across sessions, per client address): past its limit
the order is locked for bot lookups, even with the right digits; the failure
that crosses the limit opens a hand-off ticket (reason ``verification_locked``)
so that an agent sees it, and later attempts are offered a person.

A status reply adds what the store's own rules say about that state
(``dialog.order_facts``): when a paid order ships, why an unpaid order was
closed or how long it is kept. No duration is written here.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from dialog.order_facts import OrderFacts
from dialog.order_guard import OrderGuard, current_client
from dialog.policies.base import PolicyContext, PolicyResult
from dialog.understand import Understanding
from schema.services import OrderService
from schema.types import OrderInfo, Source

logger = logging.getLogger(__name__)

MAX_TRIES = 3
LOCKED_REASON = "verification_locked"
_NOT_SHIPPED = {"待付款", "已付款"}
_CLOSED = {"已取消"}


def _fmt(ts) -> str:
    return ts.strftime("%m月%d日 %H:%M") if ts else "—"


class OrderPolicy:
    def __init__(self, orders: OrderService, guard: OrderGuard | None = None,
                 verified_ttl_s: float = 1800.0, facts: OrderFacts | None = None) -> None:
        self.orders = orders
        self.guard = guard
        self.facts = facts
        self.verified_ttl = timedelta(seconds=verified_ttl_s)

    def _still_open(self, pc: PolicyContext, order_id: str) -> bool:
        """True while this session's verification of ``order_id`` is younger than the TTL."""
        ctx = pc.context
        until = ctx.verified_until.get(order_id)
        if order_id in ctx.verified_orders and until is not None and until > pc.now:
            return True
        if order_id in ctx.verified_orders:
            ctx.verified_orders.remove(order_id)
            ctx.verified_until.pop(order_id, None)
        return False

    def answer(self, u: Understanding, pc: PolicyContext, intent: str) -> PolicyResult:
        ctx = pc.context
        if u.order_id:
            ctx.order_id = u.order_id
        order_id = ctx.order_id
        if order_id is None:
            ctx.pending_intent = intent
            return PolicyResult(pc.say("ask_order_id"), "ask_order_id")
        if order_id in ctx.locked_orders:
            return PolicyResult(pc.say("order_locked"), "answer", handoff_reason=None)
        if not self._still_open(pc, order_id):
            client = current_client()
            if self.guard is not None and self.guard.locked(order_id, client):
                ctx.pending_intent = None
                return PolicyResult(pc.say("order_guard_locked"), "answer", suggestions=["转人工"])
            if u.last4 is None:
                ctx.pending_intent = intent
                if self.orders.lookup(order_id) is None:
                    ctx.order_id = None
                    return PolicyResult(pc.say("order_not_found", order_id=order_id), "ask_order_id")
                return PolicyResult(pc.say("ask_phone_last4"), "ask_phone_last4")
            if not self.orders.verify_last4(order_id, u.last4):
                tries = ctx.failed_verifications.get(order_id, 0) + 1
                ctx.failed_verifications[order_id] = tries
                if self.guard is not None and self.guard.failed(order_id, client):
                    logger.warning("order %s locked for bot lookups after repeated failed verifications "
                                   "(client %s, session %s)", order_id, client, ctx.session_id)
                    ctx.pending_intent = None
                    return PolicyResult(pc.say("order_guard_handoff"), "handoff", handoff_reason=LOCKED_REASON)
                if tries >= MAX_TRIES:
                    ctx.locked_orders.append(order_id)
                    return PolicyResult(pc.say("order_locked"), "answer")
                return PolicyResult(pc.say("verify_failed", left=MAX_TRIES - tries), "ask_phone_last4")
            ctx.verified_orders.append(order_id)
            ctx.verified_until[order_id] = pc.now + self.verified_ttl
        order = self.orders.lookup(order_id)
        if order is None:
            ctx.order_id = None
            return PolicyResult(pc.say("order_not_found", order_id=order_id), "ask_order_id")
        ctx.pending_intent = None
        return self._reply(pc, order, intent)

    def _reply(self, pc: PolicyContext, order: OrderInfo, intent: str) -> PolicyResult:
        sources = [Source("order", order.order_id)] + [Source("variant", sku) for sku, _ in order.items]
        if intent == "change_address":
            if order.status in _NOT_SHIPPED:
                return PolicyResult(pc.say("change_address_ok", order_id=order.order_id), "answer", sources,
                                    resolved=True)
            hint = "可以联系快递员改派，或签收后申请售后。" if order.status == "已发货" else ""
            return PolicyResult(pc.say("change_address_no", order_id=order.order_id, status=order.status, hint=hint),
                                "answer", sources, resolved=True)
        if intent == "cancel_order" and order.status not in _CLOSED:  # a closed order: say why (below)
            if order.status in _NOT_SHIPPED:
                return PolicyResult(pc.say("cancel_ok", order_id=order.order_id, status=order.status), "answer",
                                    sources, resolved=True)
            hint = "已发货的订单可以拒收或签收后申请退货退款。" if order.status == "已发货" else ""
            return PolicyResult(pc.say("cancel_no", order_id=order.order_id, status=order.status, hint=hint),
                                "answer", sources, resolved=True)
        if order.shipped_at and order.carrier:
            detail = pc.say("order_shipped_detail", shipped_at=_fmt(order.shipped_at), carrier=order.carrier,
                            tracking_no=order.tracking_no or "—")
        elif order.paid_at and order.status in _NOT_SHIPPED:
            detail = pc.say("order_paid_detail", paid_at=_fmt(order.paid_at)) + self._rule(pc, "dispatch", order,
                                                                                         sources)
        elif order.status == "待付款":
            detail = pc.say("order_unpaid_detail") + self._rule(pc, "unpaid_closed", order, sources)
        elif order.status in _CLOSED and order.paid_at is None:
            rule = self._statement("unpaid_closed", order, pc, sources)
            detail = pc.say("order_closed_unpaid", rule=rule) if rule else ""
        else:
            detail = ""
        return PolicyResult(pc.say("order_status", order_id=order.order_id, status=order.status, detail=detail),
                            "answer", sources, resolved=True)

    def _statement(self, fact: str, order: OrderInfo, pc: PolicyContext, sources: list[Source]) -> str:
        """The store's sentence on ``fact`` for this order ('' when its rules state none); its sources join."""
        found = self.facts.statement(fact, order, pc.now) if self.facts is not None else None
        if found is None:
            return ""
        sources.extend(found.sources)
        return found.text

    def _rule(self, pc: PolicyContext, fact: str, order: OrderInfo, sources: list[Source]) -> str:
        rule = self._statement(fact, order, pc, sources)
        return pc.say("order_store_rule", rule=rule) if rule else ""
