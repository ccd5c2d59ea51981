"""The dialogue engine: one shopper message in, one reply out.

It loads the session, understands the message in context, routes it to an
answering policy through the routing data (``dialog/routing.json``), moves the FSM, hands off to a human when it should, stores
the session and records an analytics event. All collaborators are passed in;
``dialog.runtime.build_runtime`` wires the real ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from dialog.actions import GRAPH_DOWN, Actions, GraphGuard
from dialog.after_hours import callback_phone, mask_phone, priority, wants_cancel
from dialog.errors import DialogError, TicketStateError
from dialog.fsm import ConversationMachine
from dialog.handoff import AgentHours, new_ticket, suggested_replies
from dialog.order_facts import OrderFacts
from dialog.order_guard import OrderGuard
from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, Searcher, TextCache
from dialog.policies.orders import OrderPolicy
from dialog.policies.search import SHOPPING_TEMPLATES
from dialog.policies.shopping import ShoppingGuide
from dialog.ports import EventLog, HandoffQueue, SessionStore
from dialog.resolve import ContextResolver
from dialog.router import Router
from dialog.templates import Templates
from dialog.understand import EmotionScorer, EntityLinker, IntentClassifier, Understanding, understand
from retrieval.errors import RetrievalError
from retrieval.ranker import CandidateRanker
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
MAX_FALLBACKS = 2


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
                 machine: ConversationMachine | None = None, router: Router | None = None) -> None:
        self.p = parts
        self.clock = clock or (lambda: datetime.now(SHANGHAI))
        self.machine = machine or ConversationMachine()
        self.graph = GraphGuard()
        facts = OrderFacts.load(parts.knowledge, parts.cache, CandidateRanker.load().concepts)
        self.actions = Actions(parts.knowledge, parts.searcher, parts.cache,
                               OrderPolicy(parts.orders, parts.order_guard, parts.verified_order_ttl_s, facts),
                               self.graph)
        # Routing data is validated here, at start-up: an unknown intent, state, guard,
        # policy or trigger raises dialog.routing.RoutingError before the first message.
        self.router = router or Router.load(self.actions.table())
        self.actions.cues = self.router.table.cues
        self.actions.agent_hours = parts.agent_hours
        self.resolver = ContextResolver(parts.knowledge, parts.cache, self.router.table.cues)
        self.shopping_templates = Templates(SHOPPING_TEMPLATES)
        # Set by the factory: keeps linker and cached texts in step with the graph,
        # and rebuilds the FAQ index after a change this process committed.
        self.watcher: KnowledgeSync | None = None
        self.index_builder: Callable[[], object] | None = None
        # Set by the factory: compares the FAQ index with the cached texts, rebuilds it when they differ.
        self.index_keeper = None

    @property
    def shopping(self) -> ShoppingGuide | None:
        """Search, comparison and help to buy (dialog/policies/shopping.py); the route ``shopping`` asks it."""
        return self.actions.shopping

    @shopping.setter
    def shopping(self, guide: ShoppingGuide | None) -> None:
        self.actions.shopping = guide

    # --- public API -----------------------------------------------------------------
    def chat(self, session_id: str, message: str, channel: str | None = None,
             user_id: str | None = None) -> ChatReply:
        started = time.perf_counter()
        if self.watcher is not None and self.graph.up():
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
            if reply.intent in self.router.table.group("product") or reply.products else [],
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

    def refresh_texts(self, lexicon=None) -> None:
        """Reload the FAQ and clause texts and the catalogue's products into the in-memory cache."""
        all_faq = self.p.knowledge.all_faq()  # type: ignore[attr-defined]
        all_clauses = self.p.knowledge.all_clauses()  # type: ignore[attr-defined]
        self.p.cache.faq = {f.faq_id: f for f in all_faq}
        self.p.cache.clauses = {c.clause_id: c for c in all_clauses}
        if lexicon is None:
            lexicon = self.p.knowledge.catalog_lexicon()
        ids = list(dict.fromkeys(e.value for e in lexicon.of_type("product")))
        self.p.cache.products = {p.product_id: p for p in self.p.knowledge.products(ids)} if ids else {}

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
        if reply.intent in self.router.table.group("product") or reply.products:
            ids = [s["id"] for s in reply.sources if s["kind"] == "product"]
            ctx.discussed_products = list(dict.fromkeys([*ctx.discussed_products, *ids]))[-20:]

    # --- the turn -------------------------------------------------------------------
    def _forward_to_agent(self, ctx: SessionContext, message: str, now: datetime) -> tuple[ChatReply, bool]:
        """In hand-off the message goes to the agent's ticket; the bot is silent once a person has joined."""
        ticket_id = ctx.handoff_ticket_id or ""
        try:
            ticket = self.p.handoffs.add_turn(ticket_id, ctx.history[-1])
        except DialogError:
            logger.warning("hand-off ticket %s vanished; resuming the bot", ticket_id)
            self.machine.fire(ctx, "agent_close")
            ctx.handoff_ticket_id = None
            return self._handle(ctx, message, now)
        # Silent once a person has the conversation; before that, the shopper hears the message was kept.
        joined = ticket.status == "claimed" or any(t.role == "agent" for t in ticket.transcript)
        reply = "" if joined else self.p.templates.render("handoff_waiting_ack", f"{ctx.session_id}:{len(ctx.history)}")
        info = HandoffInfo(ticket_id=ticket.ticket_id, reason=ticket.reason, queued_at=ticket.created_at,
                           agent_available=self.p.agent_hours.is_open(now), message=reply)
        return ChatReply(reply=reply, intent="human_agent", confidence=1.0, state=ctx.state, handoff=info), False

    def _handle(self, ctx: SessionContext, message: str, now: datetime) -> tuple[ChatReply, bool]:
        pc = PolicyContext(ctx, self.p.templates, now)
        # load -> understand -> route -> fire -> save (chat() loads and saves)
        u = understand(message, ctx, self.p.classifier, self.p.linker, self.p.emotion, self.router.table.cues)
        if self.graph.up():
            try:
                self.resolver.apply(u, ctx, self.router.table.group("product"))
            except GRAPH_DOWN as e:
                self.graph.failed(e)
        ctx.emotion_trend = (ctx.emotion_trend + [round(u.emotion, 3)])[-10:]
        route, result = self.router.route(u, pc)
        logger.debug("message routed by %s (policy %s, trigger %s)", route.name, route.policy, result.trigger)

        if result.fallback:
            ctx.consecutive_fallbacks += 1
            if ctx.consecutive_fallbacks >= MAX_FALLBACKS:
                result = PolicyResult(pc.say("handoff_fallback"), "handoff", handoff_reason="repeated_fallback",
                                      fallback=True)
        else:
            ctx.consecutive_fallbacks = 0

        if result.topic and not u.explicit_handoff:
            # The answer given is about another topical intent the classifier ranked close.
            u.intent = result.topic
            u.confidence = dict(u.ranking).get(result.topic, u.confidence)
        handoff = None
        if result.handoff_reason:
            handoff, result = self._open_ticket(ctx, u, result, now)
        self.machine.fire(ctx, result.trigger)
        if result.trigger == "answer":
            ctx.pending_options, ctx.pending_option_kind = [], None
        if u.intent not in self.router.table.group("chit_chat"):
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


def _dedupe(sources: list[Source]) -> list[Source]:
    seen: set[Source] = set()
    out = []
    for s in sources:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out
