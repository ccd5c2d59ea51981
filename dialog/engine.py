"""The dialogue engine: one shopper message in, one reply out.

It loads the session, understands the message in context, routes it to an
answering policy, moves the FSM, hands off to a human when it should, stores
the session and records an analytics event. All collaborators are passed in;
``dialog.factory.build_engine`` wires the real ones.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from neo4j import exceptions as neo4j_exc

from dialog.after_hours import callback_phone, mask_phone, priority, wants_cancel
from dialog.errors import DialogError, TicketStateError
from dialog.fsm import ConversationMachine
from dialog.handoff import AgentHours, new_ticket, suggested_replies
from dialog.order_guard import OrderGuard
from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, Searcher, TextCache
from dialog.policies.knowledge import KnowledgePolicy
from dialog.policies.orders import OrderPolicy
from dialog.policies.product import ProductPolicy, wants_cheapest
from dialog.policies.search import SHOPPING_TEMPLATES
from dialog.policies.shopping import ShoppingGuide
from dialog.ports import EventLog, HandoffQueue, SessionStore
from dialog.templates import Templates
from dialog.understand import (
    ORDER_INTENTS,
    PRODUCT_INTENTS,
    EmotionScorer,
    EntityLinker,
    IntentClassifier,
    Understanding,
    understand,
)
from graph.errors import GraphError
from retrieval.errors import RetrievalError
from schema.conversation import (
    ChatReply,
    ConversationEvent,
    DialogState,
    HandoffInfo,
    HandoffTicket,
    SessionContext,
    Turn,
)
from schema.services import OrderService
from schema.types import Source

logger = logging.getLogger(__name__)

# Store time as a fixed offset (China has no DST): zoneinfo datetimes must never
# reach the Neo4j driver, whose conversion of them can crash (cpython#125318).
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
ANGER_THRESHOLD = 0.7
MAX_FALLBACKS = 2
# After a graph failure, answer without the graph for this long instead of
# paying the driver's connection attempts on every message.
GRAPH_BACKOFF_S = 5.0
_MY_PARCEL = re.compile(r"我的|到哪|物流信息|单号|快递呢|还没到|还没收到|什么时候到")
_GRAPH_DOWN = (GraphError, neo4j_exc.DriverError, neo4j_exc.Neo4jError, OSError)


@dataclass
class EngineParts:
    """Everything the engine talks to, built once per process."""

    classifier: IntentClassifier
    linker: EntityLinker
    emotion: EmotionScorer
    knowledge: Knowledge
    searcher: Searcher
    orders: OrderService
    sessions: SessionStore
    handoffs: HandoffQueue
    events: EventLog
    agent_hours: AgentHours
    cache: TextCache
    templates: Templates
    order_guard: OrderGuard | None = None  # failed-verification limits across sessions (dialog.order_guard)
    verified_order_ttl_s: float = 1800.0


class KnowledgeSync(Protocol):
    version: int | None

    def sync(self, force: bool = False) -> bool: ...


class DialogEngine:
    """Implements ``dialog.ports.ChatEngine``.

    >>> reply = engine.chat("s1", "红色L码还有几件")
    >>> reply.state, reply.sources
    """

    def __init__(self, parts: EngineParts, *, clock: Callable[[], datetime] | None = None,
                 machine: ConversationMachine | None = None) -> None:
        self.p = parts
        self.clock = clock or (lambda: datetime.now(SHANGHAI))
        self.machine = machine or ConversationMachine()
        self.products = ProductPolicy(parts.knowledge)
        self.kb = KnowledgePolicy(parts.searcher, parts.cache)
        self.order_policy = OrderPolicy(parts.orders, parts.order_guard, parts.verified_order_ttl_s)
        # Set by the factory: keeps linker and cached texts in step with the graph,
        # and rebuilds the FAQ index after a change this process committed.
        # Set by the factory: search, comparison and help to buy (dialog/policies/shopping.py).
        self.shopping: ShoppingGuide | None = None
        self.shopping_templates = Templates(SHOPPING_TEMPLATES)
        self.watcher: KnowledgeSync | None = None
        self.index_builder: Callable[[], object] | None = None
        # Set by the factory: compares the FAQ index with the cached texts, rebuilds it when they differ.
        self.index_keeper = None
        self._graph_down_until = 0.0

    # --- public API -----------------------------------------------------------------
    def chat(self, session_id: str, message: str, channel: str | None = None,
             user_id: str | None = None) -> ChatReply:
        started = time.perf_counter()
        if self.watcher is not None and self._graph_up():
            self.watcher.sync()
        now = self.clock()
        ctx = self.p.sessions.load(session_id) or SessionContext(
            session_id=session_id, channel=channel, user_id=user_id, created_at=now, updated_at=now)
        ctx.updated_at = now
        # A phone number is kept only on a waiting ticket (callback); everywhere else it is masked.
        ctx.history.append(Turn(role="shopper", text=mask_phone(message), at=now))

        waiting = self._waiting_ticket(ctx, now)
        if waiting is not None:
            reply, fallback = self._after_hours_turn(ctx, waiting, message, now)
        elif ctx.state == DialogState.HANDOFF and ctx.handoff_ticket_id:
            reply, fallback = self._forward_to_agent(ctx, message, now)
        else:
            if ctx.state == DialogState.CLOSED:
                self.machine.fire(ctx, "reopen")
            reply, fallback = self._handle(ctx, message, now)
        ctx.history[-1].intent = reply.intent
        self._note_products(ctx, reply)
        if reply.reply:
            ctx.history.append(Turn(role="bot", text=reply.reply, at=now, intent=reply.intent,
                                    state=reply.state.value, sources=reply.sources))
        self.p.sessions.save(ctx)
        latency_ms = (time.perf_counter() - started) * 1000
        self.p.events.record(ConversationEvent(
            session_id=session_id, at=now, message=mask_phone(message), intent=reply.intent,
            confidence=reply.confidence, state=reply.state.value,
            resolved=bool(reply.sources) and reply.handoff is None and reply.state == DialogState.ANSWERED,
            fallback=fallback, handoff_reason=reply.handoff.reason if reply.handoff else None,
            latency_ms=latency_ms, channel=channel, user_id=ctx.user_id or user_id,
            product_ids=[s["id"] for s in reply.sources if s["kind"] == "product"]
            if reply.intent in PRODUCT_INTENTS or reply.products else [],
            verified_orders=list(ctx.verified_orders)))
        return reply

    def transcript(self, session_id: str) -> SessionContext | None:
        return self.p.sessions.load(session_id)

    def erase(self, session_id: str) -> bool:
        deleted = self.p.sessions.delete(session_id)
        tickets = self.p.handoffs.delete_for_session(session_id)
        events = self.p.events.delete_for_session(session_id)
        return bool(deleted or tickets or events)

    def agent_reply(self, ticket_id: str, agent: str, text: str) -> HandoffTicket:
        ticket = self.p.handoffs.get(ticket_id)
        if ticket.status == "closed":
            raise TicketStateError(f"ticket {ticket_id} is closed")
        now = self.clock()
        turn = Turn(role="agent", text=text, at=now)
        ticket = self.p.handoffs.add_turn(ticket_id, turn)
        ctx = self.p.sessions.load(ticket.session_id)
        if ctx is not None:
            ctx.history.append(turn)
            self.p.sessions.save(ctx)
        return ticket

    def close_handoff(self, ticket_id: str, agent: str) -> HandoffTicket:
        """Close the ticket; the bot answers that session again."""
        ticket = self.p.handoffs.close(ticket_id, agent)
        ctx = self.p.sessions.load(ticket.session_id)
        if ctx is not None and ctx.state == DialogState.HANDOFF:
            self.machine.fire(ctx, "agent_close")
            ctx.handoff_ticket_id = None
            ctx.consecutive_fallbacks = 0
            self.p.sessions.save(ctx)
        return ticket

    def readiness(self) -> dict[str, str | None]:
        """Named checks for ``/readyz``: None means ready, a string says what is wrong."""
        checks: dict[str, str | None] = {
            "faq_texts": None if self.p.cache.faq else "no FAQ texts cached (graph empty or unreachable)",
        }
        index = getattr(self.p.searcher, "index", None)
        if index is not None:
            try:
                index.snapshot()
                checks["faq_index"] = None
            except RetrievalError as e:
                checks["faq_index"] = str(e)
        if self.index_keeper is not None:
            # The index is compared with the texts it serves, not with the graph's version.
            fresh = self.index_keeper.freshness()
            checks["faq_index_fresh"] = fresh.detail if fresh.state == "stale" else None
        return checks

    def readiness_notes(self) -> dict[str, str]:
        """What the engine is waiting for while still serving (``/readyz`` 200, ``degraded``)."""
        if self.index_keeper is None:
            return {}
        fresh = self.index_keeper.freshness()
        return {"faq_index_fresh": fresh.detail or ""} if fresh.state == "degraded" else {}

    def knowledge_changed(self) -> None:
        """This process changed the graph (a change set): rebuild the index, reload the rest now."""
        if self.index_builder is not None:
            self.index_builder()
        if self.watcher is not None:
            self.watcher.sync(force=True)
        else:
            self.refresh_texts()

    def refresh_texts(self) -> None:
        """Reload the FAQ and clause texts from the graph into the in-memory cache."""
        all_faq = self.p.knowledge.all_faq()  # type: ignore[attr-defined]
        all_clauses = self.p.knowledge.all_clauses()  # type: ignore[attr-defined]
        self.p.cache.faq = {f.faq_id: f for f in all_faq}
        self.p.cache.clauses = {c.clause_id: c for c in all_clauses}

    # --- after hours: the waiting ticket (dialog/after_hours.py) ----------------------------
    def _waiting_ticket(self, ctx: SessionContext, now: datetime) -> HandoffTicket | None:
        """The session's after-hours ticket while it waits; a claimed one moves the session to the agent."""
        if not ctx.handoff_ticket_id or ctx.state == DialogState.HANDOFF:
            return None
        try:
            ticket = self.p.handoffs.get(ctx.handoff_ticket_id)
        except DialogError:
            ctx.handoff_ticket_id = None
            return None
        if ticket.status == "closed":
            ctx.handoff_ticket_id = None
            return None
        if ticket.status == "claimed" or not ticket.waiting:
            # A person has it now: the bot goes quiet as in agent hours.
            if self.machine.can_fire(ctx.state, "handoff"):
                self.machine.fire(ctx, "handoff")
            return None
        return ticket

    def _after_hours_turn(self, ctx: SessionContext, ticket: HandoffTicket, message: str,
                          now: datetime) -> tuple[ChatReply, bool]:
        """Add the message to the ticket; take a callback number or a cancel; otherwise answer it."""
        t = self.shopping_templates
        seed = f"{ctx.session_id}:{len(ctx.history)}"
        ticket = self.p.handoffs.add_turn(ticket.ticket_id, ctx.history[-1])
        when = self.p.agent_hours.reply_time_message(now)
        if wants_cancel(message):
            self.p.handoffs.annotate(ticket.ticket_id, cancelled=True, waiting=False)
            self.p.handoffs.close(ticket.ticket_id, "shopper")
            ctx.handoff_ticket_id = None
            return ChatReply(reply=t.render("handoff_cancelled", seed), intent="human_agent", confidence=1.0,
                             state=ctx.state), False
        phone = callback_phone(message)
        if phone is not None:
            self.p.handoffs.annotate(ticket.ticket_id, callback_phone=phone)
            info = HandoffInfo(ticket_id=ticket.ticket_id, reason=ticket.reason, queued_at=ticket.created_at,
                               agent_available=False, message=when)
            return ChatReply(reply=t.render("handoff_callback", seed, phone=mask_phone(phone), when=when),
                             intent="human_agent", confidence=1.0, state=ctx.state, handoff=info), False
        reply, fallback = self._handle(ctx, message, now)
        if ctx.handoff_ticket_id == ticket.ticket_id:
            self.p.handoffs.annotate(ticket.ticket_id, priority=priority(ticket, ctx))
        return reply, fallback

    def _note_products(self, ctx: SessionContext, reply: ChatReply) -> None:
        """A product the shopper asked about makes the session a lead (analytics)."""
        if reply.intent in PRODUCT_INTENTS or reply.products:
            ids = [s["id"] for s in reply.sources if s["kind"] == "product"]
            ctx.discussed_products = list(dict.fromkeys([*ctx.discussed_products, *ids]))[-20:]

    # --- the turn -------------------------------------------------------------------
    def _forward_to_agent(self, ctx: SessionContext, message: str, now: datetime) -> tuple[ChatReply, bool]:
        """In hand-off the bot stays silent; the message goes to the agent's ticket."""
        ticket_id = ctx.handoff_ticket_id or ""
        try:
            ticket = self.p.handoffs.add_turn(ticket_id, ctx.history[-1])
        except DialogError:
            logger.warning("hand-off ticket %s vanished; resuming the bot", ticket_id)
            self.machine.fire(ctx, "agent_close")
            ctx.handoff_ticket_id = None
            return self._handle(ctx, message, now)
        info = HandoffInfo(ticket_id=ticket.ticket_id, reason=ticket.reason, queued_at=ticket.created_at,
                           agent_available=self.p.agent_hours.is_open(now), message="")
        return ChatReply(reply="", intent="human_agent", confidence=1.0, state=ctx.state, handoff=info), False

    def _handle(self, ctx: SessionContext, message: str, now: datetime) -> tuple[ChatReply, bool]:
        pc = PolicyContext(ctx, self.p.templates, now)
        u = understand(message, ctx, self.p.classifier, self.p.linker, self.p.emotion)
        ctx.emotion_trend = (ctx.emotion_trend + [round(u.emotion, 3)])[-10:]
        result = self._route(u, pc)

        if result.fallback:
            ctx.consecutive_fallbacks += 1
            if ctx.consecutive_fallbacks >= MAX_FALLBACKS:
                result = PolicyResult(pc.say("handoff_fallback"), "handoff", handoff_reason="repeated_fallback",
                                      fallback=True)
        else:
            ctx.consecutive_fallbacks = 0

        handoff = None
        if result.handoff_reason:
            handoff, result = self._open_ticket(ctx, u, result, now)
        self.machine.fire(ctx, result.trigger)
        if result.trigger == "answer":
            ctx.pending_options, ctx.pending_option_kind = [], None
        if u.intent not in ("greeting", "goodbye", "out_of_scope", "human_agent"):
            ctx.last_intent = u.intent
        return ChatReply(
            reply=result.reply,
            intent=u.intent,
            confidence=round(u.confidence, 4),
            entities=[ChatReply.entity_dict(e) for e in u.entities],
            state=ctx.state,
            sources=[ChatReply.source_dict(s) for s in _dedupe(result.sources)],
            handoff=handoff,
            suggestions=result.suggestions,
            actions=result.actions,
            products=result.products,
        ), result.fallback

    def _open_ticket(self, ctx: SessionContext, u: Understanding, result: PolicyResult,
                     now: datetime) -> tuple[HandoffInfo, PolicyResult]:
        if not self.p.agent_hours.is_open(now):
            return self._open_waiting_ticket(ctx, u, result, now)
        suggestions = suggested_replies(u.text, ctx, self.p.searcher, self.p.cache, self.p.knowledge, now)
        ticket = new_ticket(ctx, result.handoff_reason or "explicit", u.intent, u.entities, suggestions, now)
        self.p.handoffs.enqueue(ticket)
        ctx.handoff_ticket_id = ticket.ticket_id
        open_now = self.p.agent_hours.is_open(now)
        reply = result.reply
        if not open_now:
            reply = reply + "\n" + self.p.templates.render(
                "handoff_after_hours", ctx.session_id, when=self.p.agent_hours.reply_time_message(now))
        info = HandoffInfo(ticket_id=ticket.ticket_id, reason=ticket.reason, queued_at=now,
                           agent_available=open_now, message=reply)
        return info, PolicyResult(reply, "handoff", result.sources, handoff_reason=result.handoff_reason,
                                  fallback=result.fallback)

    def _open_waiting_ticket(self, ctx: SessionContext, u: Understanding, result: PolicyResult,
                             now: datetime) -> tuple[HandoffInfo, PolicyResult]:
        """After hours: a waiting ticket (or the one already waiting); the bot keeps talking."""
        when = self.p.agent_hours.reply_time_message(now)
        ticket = None
        if ctx.handoff_ticket_id:
            try:
                ticket = self.p.handoffs.get(ctx.handoff_ticket_id)
            except DialogError:
                ticket = None
        if ticket is None or ticket.status != "queued":
            suggestions = suggested_replies(u.text, ctx, self.p.searcher, self.p.cache, self.p.knowledge, now)
            ticket = new_ticket(ctx, result.handoff_reason or "explicit", u.intent, u.entities, suggestions, now)
            ticket = ticket.model_copy(update={"waiting": True, "priority": priority(ticket, ctx)})
            self.p.handoffs.enqueue(ticket)
            ctx.handoff_ticket_id = ticket.ticket_id
        else:
            ticket = self.p.handoffs.annotate(ticket.ticket_id, priority=min(
                priority(ticket, ctx), ticket.priority if ticket.priority is not None else 2))
        reply = result.reply + "\n" + self.p.templates.render("handoff_after_hours", ctx.session_id, when=when)
        reply += self.shopping_templates.render("handoff_waiting_more", ctx.session_id)
        info = HandoffInfo(ticket_id=ticket.ticket_id, reason=ticket.reason, queued_at=ticket.created_at,
                           agent_available=False, message=reply)
        return info, PolicyResult(reply, "answer", result.sources, handoff_reason=result.handoff_reason,
                                  fallback=result.fallback)

    # --- routing ----------------------------------------------------------------------
    def _route(self, u: Understanding, pc: PolicyContext) -> PolicyResult:
        ctx = pc.context
        if u.emotion > ANGER_THRESHOLD:
            return PolicyResult(pc.say("handoff_anger"), "handoff", handoff_reason="anger")
        if u.explicit_handoff or u.intent == "human_agent":
            return PolicyResult(pc.say("handoff_explicit"), "handoff", handoff_reason="explicit")
        if u.choice is not None:
            return self._choice(u, pc)
        if ctx.state in (DialogState.AWAIT_ORDER_ID, DialogState.AWAIT_PHONE_LAST4) and (u.order_id or u.last4):
            u.intent, u.unsure = ctx.pending_intent or "order_status", False
            return self._graph_guard(pc, lambda: self.order_policy.answer(u, pc, ctx.pending_intent or "order_status"))
        if ctx.state == DialogState.AWAIT_PRODUCT and u.product_link and ctx.pending_intent:
            u.intent = ctx.pending_intent
        if u.intent == "greeting":
            return PolicyResult(pc.say("greeting"), "answer", resolved=True)
        if u.intent == "goodbye":
            return PolicyResult(pc.say("goodbye"), "goodbye", resolved=True)
        if u.intent == "complaint":
            return PolicyResult(pc.say("handoff_dispute"), "handoff", handoff_reason="dispute")
        shopping = self._shopping(u, pc)
        if shopping is not None:
            return shopping
        if u.intent in ORDER_INTENTS or (u.intent == "shipping" and (u.order_id or _MY_PARCEL.search(u.text))):
            intent = u.intent if u.intent in ORDER_INTENTS else "order_status"
            return self._graph_guard(pc, lambda: self.order_policy.answer(u, pc, intent))
        if u.intent in PRODUCT_INTENTS:
            product_result = self._graph_guard(pc, lambda: self._product(u, pc))
            if product_result is not None:
                return product_result
        if u.intent == "out_of_scope" and not u.unsure:
            return PolicyResult(pc.say("out_of_scope"), "fallback", fallback=True)
        return self._knowledge(u, pc)

    def _shopping(self, u: Understanding, pc: PolicyContext) -> PolicyResult | None:
        """Search, comparison and help to buy; None when the message is not a shopping request."""
        if self.shopping is None or not self._graph_up() or u.order_id:
            return None
        guide = self.shopping
        try:
            return guide.route(u, pc)
        except _GRAPH_DOWN as e:
            self._graph_failed(e)
            return None

    def _graph_up(self) -> bool:
        return time.monotonic() >= self._graph_down_until

    def _graph_failed(self, e: Exception) -> None:
        logger.warning("graph unavailable; answering without it for %.0fs: %s", GRAPH_BACKOFF_S, e)
        self._graph_down_until = time.monotonic() + GRAPH_BACKOFF_S

    def _graph_guard(self, pc: PolicyContext, call: Callable[[], PolicyResult | None]) -> PolicyResult | None:
        """Run a graph-backed policy; if Neo4j is down, say product facts are unavailable."""
        if not self._graph_up():
            return PolicyResult(pc.say("product_facts_unavailable"), "answer")
        try:
            return call()
        except _GRAPH_DOWN as e:
            self._graph_failed(e)
            return PolicyResult(pc.say("product_facts_unavailable"), "answer")

    def _product_id(self, u: Understanding, pc: PolicyContext) -> str | None:
        if u.product_link is not None:
            return u.product_link.value
        return pc.context.last_product_id

    def _product(self, u: Understanding, pc: PolicyContext) -> PolicyResult | None:
        ctx = pc.context
        link = u.product_link
        if wants_cheapest(u.text):
            category = next((e.value for e in u.entities if e.type == "category"), None)
            ids = [link.value, *link.candidates] if link and link.candidates else None
            found = self.products.cheapest(pc, self.p.knowledge, category, ids)
            if found is not None:
                ctx.last_product_id = found.sources[0].id
                return found
        if link is not None and link.candidates:
            options = [link.value, *link.candidates][:3]
            names = []
            for pid in options:
                info = self.p.knowledge.product(pid)
                names.append(info.display_name if info else pid)
            ctx.pending_options = options
            ctx.pending_option_kind = "product"
            ctx.pending_intent = u.intent
            lines = "\n".join(f"{i}. {n}" for i, n in enumerate(names, 1))
            return PolicyResult(pc.say("ask_which_product", options=lines), "clarify",
                                [Source("product", pid) for pid in options], suggestions=names)
        product_id = self._product_id(u, pc)
        if product_id is None:
            if u.intent in ("price_promotion", "size_advice"):
                return None  # a general question: the FAQ may answer it
            ctx.pending_intent = u.intent
            return PolicyResult(pc.say("ask_product"), "ask_product")
        ctx.last_product_id = product_id
        if u.attributes:
            ctx.last_variant_attrs = dict(u.attributes)
        return self.products.answer(u, pc, product_id)

    def _choice(self, u: Understanding, pc: PolicyContext) -> PolicyResult:
        ctx = pc.context
        index = (u.choice or 1) - 1
        if index >= len(ctx.pending_options):
            return PolicyResult(pc.say("fallback"), "fallback", fallback=True)
        chosen = ctx.pending_options[index]
        kind = ctx.pending_option_kind
        ctx.pending_options, ctx.pending_option_kind = [], None
        if kind == "faq":
            u.intent = ctx.last_intent or u.intent
            return self.kb.answer_choice(pc, chosen)
        ctx.last_product_id = chosen
        u.intent = ctx.pending_intent or "product_attribute"
        u.product_link = None
        return self._graph_guard(pc, lambda: self.products.answer(u, pc, chosen))

    def _knowledge(self, u: Understanding, pc: PolicyContext) -> PolicyResult:
        product_id = u.product_id or (pc.context.last_product_id if u.coreference else None)
        name = None
        knowledge: Knowledge | None = self.p.knowledge if self._graph_up() else None
        if knowledge is None:
            product_id = None
        if product_id:
            try:
                info = self.p.knowledge.product(product_id)
                name = info.display_name if info else None
            except _GRAPH_DOWN as e:
                self._graph_failed(e)
                knowledge, product_id = None, None
        try:
            return self.kb.answer(u, pc, knowledge, product_id, name)
        except _GRAPH_DOWN as e:
            self._graph_failed(e)
            return self.kb.answer(u, pc, None, None, None)


def _dedupe(sources: list[Source]) -> list[Source]:
    seen: set[Source] = set()
    out = []
    for s in sources:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out
