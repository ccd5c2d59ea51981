"""The policies the routing data names, as one table of callables.

Each takes the understood message, the per-message context and the route (for
its ``params``) and returns a ``PolicyResult``, or None to decline so the next
matching route is tried. Graph-backed policies go through ``GraphGuard`` so a
Neo4j outage gives a clear reply instead of an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from neo4j import exceptions as neo4j_exc

from dialog.handoff import HandoffNotes
from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, Searcher, TextCache
from dialog.policies.knowledge import KnowledgePolicy
from dialog.policies.orders import OrderPolicy
from dialog.policies.product import ProductPolicy, resolve_attributes, wants_cheapest
from dialog.policies.product_faq import ProductFAQ
from dialog.policies.size import SizePolicy
from dialog.router import Policy
from dialog.routing import Cues, Route
from dialog.understand import PRODUCT_INTENTS, Understanding
from graph.errors import GraphError
from schema.attribute_names import family
from schema.services import OrderService
from schema.types import Source

logger = logging.getLogger(__name__)

# After a graph failure, answer without the graph for this long instead of
# paying the driver's connection attempts on every message.
GRAPH_BACKOFF_S = 5.0
GRAPH_DOWN = (GraphError, neo4j_exc.DriverError, neo4j_exc.Neo4jError, OSError)


class GraphGuard:
    """Remembers a graph failure for ``GRAPH_BACKOFF_S`` seconds."""

    def __init__(self) -> None:
        self._down_until = 0.0

    def up(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, e: Exception) -> None:
        logger.warning("graph unavailable; answering without it for %.0fs: %s", GRAPH_BACKOFF_S, e)
        self._down_until = time.monotonic() + GRAPH_BACKOFF_S

    def run(self, pc: PolicyContext, call: Callable[[], PolicyResult | None]) -> PolicyResult | None:
        """Run a graph-backed policy; if Neo4j is down, say product facts are unavailable."""
        if not self.up():
            return PolicyResult(pc.say("product_facts_unavailable"), "answer")
        try:
            return call()
        except GRAPH_DOWN as e:
            self.failed(e)
            return PolicyResult(pc.say("product_facts_unavailable"), "answer")


class Actions:
    """Builds the policy table: ``Actions(...).table()`` -> {policy name: callable}."""

    def __init__(self, knowledge: Knowledge, searcher: Searcher, cache: TextCache,
                 orders: OrderService | OrderPolicy, graph: GraphGuard) -> None:
        self.knowledge = knowledge
        self.graph = graph
        self.products = ProductPolicy(knowledge)
        self.kb = KnowledgePolicy(searcher, cache)
        self.product_faq = ProductFAQ(self.kb)
        self.products.faq = self.product_faq
        self.products.catalog = cache
        self.cache = cache
        self.order_policy = orders if isinstance(orders, OrderPolicy) else OrderPolicy(orders)
        self.sizes = SizePolicy(knowledge, searcher, cache)
        self.searcher = searcher
        self.cache = cache
        self.notes = HandoffNotes.load()
        # The configured agent hours (dialog.agent_hours.AgentHours); the engine sets them.
        self.agent_hours = None
        # The routing data's cue lists; the engine sets them once the table is validated.
        self.cues: Cues | None = None
        # Search, comparison and help to buy (dialog.policies.shopping.ShoppingGuide), set by the runtime.
        self.shopping = None

    def table(self) -> dict[str, Policy]:
        return {
            "handoff_anger": self._say_handoff("handoff_anger", "anger"),
            "handoff_explicit": self._say_handoff("handoff_explicit", "explicit"),
            "handoff_dispute": self._say_handoff("handoff_dispute", "dispute"),
            "greeting": lambda u, pc, r: PolicyResult(pc.say("greeting"), "answer", resolved=True),
            "goodbye": lambda u, pc, r: PolicyResult(pc.say("goodbye"), "goodbye", resolved=True),
            "out_of_scope": lambda u, pc, r: PolicyResult(pc.say("out_of_scope"), "fallback", fallback=True),
            "choice": self.choice,
            "order_slot": self.order_slot,
            "order": self.order,
            "product": self.product,
            "size": self.size,
            "knowledge": self.knowledge_answer,
            "knowledge_if_answered": self.knowledge_if_answered,
            "complaint_help": self.complaint_help,
            "shopping": self.shop,
        }

    def _say_handoff(self, template: str, reason: str) -> Policy:
        def say(u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult:
            reply, sources = pc.say(template), []
            if reason != "anger":  # an angry shopper gets the apology and a person, nothing to read
                note = self._handoff_note(u, pc)
                if note is not None:
                    reply, sources = f"{reply}\n{note.text}", list(note.sources)
            return PolicyResult(reply, "handoff", sources, handoff_reason=reason)
        return say

    def _handoff_note(self, u: Understanding, pc: PolicyContext):
        """When a person is there, or who handles an escalation, if the message asks (dialog.handoff)."""
        window = getattr(self.agent_hours, "window_text", None)
        hours = pc.say("handoff_hours", window=window) if window else None
        return self.notes.note(u.text, self.searcher, self.cache, hours)

    # --- shopping -----------------------------------------------------------------------
    def shop(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult | None:
        """Search, comparison and help to buy; declines when the message is not a shopping request."""
        if self.shopping is None or not self.graph.up():
            return None
        try:
            return self.shopping.route(u, pc)
        except GRAPH_DOWN as e:
            self.graph.failed(e)
            return None

    # --- orders -----------------------------------------------------------------------
    def order_slot(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult | None:
        intent = pc.context.pending_intent or "order_status"
        u.intent, u.unsure = intent, False
        return self.graph.run(pc, lambda: self.order_policy.answer(u, pc, intent))

    def order(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult | None:
        intent = route.params.get("intent", u.intent)
        u.intent = intent  # 我的快递到哪了 is a question about the shopper's own order
        return self.graph.run(pc, lambda: self.order_policy.answer(u, pc, intent))

    # --- products ---------------------------------------------------------------------
    def product(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult | None:
        return self.graph.run(pc, lambda: self._product(u, pc))

    def size(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult | None:
        link = u.product_link
        if link is not None and link.candidates:
            return None  # which product first (the product route asks)
        product_id = u.product_id or pc.context.last_product_id
        if product_id and self.graph.up() and self._names_a_fit(u, product_id):
            return None  # 凯美瑞有合适的头枕吗: the product route answers for that model
        result = self.graph.run(pc, lambda: self.sizes.answer(u, pc, product_id))
        if result is not None and product_id:
            pc.context.last_product_id = product_id
        return result

    def _product(self, u: Understanding, pc: PolicyContext) -> PolicyResult | None:
        ctx = pc.context
        link = u.product_link
        if wants_cheapest(u.text):
            category = next((e.value for e in u.entities if e.type == "category"), None)
            ids = [link.value, *link.candidates] if link and link.candidates else None
            found = self.products.cheapest(pc, self.knowledge, category, ids)
            if found is not None:
                ctx.last_product_id = found.sources[0].id
                return found
        if link is not None and link.candidates:
            options = [link.value, *link.candidates][:3]
            names, prices = [], []
            for pid in options:
                info = self.knowledge.product(pid)
                names.append(info.display_name if info else pid)
                prices.append(info.price if info else None)
            ctx.pending_options = options
            ctx.pending_option_kind = "product"
            ctx.pending_intent = u.intent
            # A price question gets each option's price with the question of which one.
            shown = [f"{n} ¥{p:g}" if u.intent == "price_promotion" and p is not None else n
                     for n, p in zip(names, prices, strict=True)]
            lines = "\n".join(f"{i}. {n}" for i, n in enumerate(shown, 1))
            return PolicyResult(pc.say("ask_which_product", options=lines), "clarify",
                                [Source("product", pid) for pid in options], suggestions=names)
        product_id = u.product_id or ctx.last_product_id
        if product_id is None:
            own = self.product_faq.about(u, pc, self._scope_products(u))
            if own is not None:  # 红茶能用开水冲吗: the FAQ about the category's tea answers it
                ctx.last_product_id = own[0]
                return own[1]
            if u.intent in ("price_promotion", "size_advice"):
                return None  # a general question: the FAQ may answer it
            ctx.pending_intent = u.intent
            return PolicyResult(pc.say("ask_product"), "ask_product")
        if product_id != ctx.last_product_id:
            ctx.last_variant_attrs = {}
        ctx.last_product_id = product_id
        if u.attributes:
            ctx.last_variant_attrs = dict(u.attributes)
        return self.products.answer(u, pc, product_id)

    def _names_a_fit(self, u: Understanding, product_id: str) -> bool:
        """The message names one of the product's own option values, and the product has no size."""
        try:
            product = self.knowledge.product(product_id)
            variants = self.knowledge.variants(product_id)
        except GRAPH_DOWN as e:
            self.graph.failed(e)
            return False
        if product is None or not variants:
            return False
        keys = {k for v in variants for k in v.attributes} | set(product.options)
        if any(family(k) == "size" for k in keys):
            return False
        matched, _ = resolve_attributes(u, product, variants)
        return bool(matched)

    def _scope_products(self, u: Understanding) -> list[str]:
        """The products of the brands and categories the message names (all of them together)."""
        scopes = [e for e in u.entities if e.type in ("brand", "category")]
        if not scopes:
            return []
        return [pid for pid, p in self.cache.products.items()
                if all((p.brand == e.value) if e.type == "brand" else (p.category or "").startswith(e.value)
                       for e in scopes)]

    def choice(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult | None:
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
        if chosen != ctx.last_product_id:
            ctx.last_variant_attrs = {}
        ctx.last_product_id = chosen
        u.intent = choice_intent(u, ctx.pending_intent)
        u.product_link = None
        return self.graph.run(pc, lambda: self.products.answer(u, pc, chosen))

    # --- knowledge ------------------------------------------------------------------------
    def knowledge_answer(self, u: Understanding, pc: PolicyContext, route: Route | None = None) -> PolicyResult:
        product_id = u.product_id or (pc.context.last_product_id if u.coreference else None)
        name = None
        knowledge: Knowledge | None = self.knowledge if self.graph.up() else None
        if knowledge is None:
            product_id = None
        if product_id:
            try:
                info = self.knowledge.product(product_id)
                name = info.display_name if info else None
            except GRAPH_DOWN as e:
                self.graph.failed(e)
                knowledge, product_id = None, None
        last = pc.context.last_product_id
        if (product_id is None and last and knowledge is not None
                and not any(e.type in ("product", "brand", "category") for e in u.entities)):
            own = self.product_faq.about(u, pc, [last], implied=True)  # 好装吗, of the product discussed
            if own is not None:
                return own[1]
        if u.follows:  # a follow-up is looked up with the question it follows
            u = replace(u, text=f"{u.follows} {u.text}")
        try:
            return self.kb.answer(u, pc, knowledge, product_id, name)
        except GRAPH_DOWN as e:
            self.graph.failed(e)
            return self.kb.answer(u, pc, None, None, None)

    def knowledge_if_answered(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult | None:
        """The FAQ or clause that answers the question; declines (no offer, no fallback) otherwise."""
        ctx = pc.context
        kept = (list(ctx.pending_options), ctx.pending_option_kind)
        result = self.knowledge_answer(u, pc, route)
        if result.trigger == "answer" and not result.fallback and result.sources:
            return result
        ctx.pending_options, ctx.pending_option_kind = kept
        return None

    def complaint_help(self, u: Understanding, pc: PolicyContext, route: Route) -> PolicyResult:
        """A concrete problem: apology + the rule or next step + the offer of a person.

        The search looks for the problem, not the complaint's words (投诉, 差评: cue list
        ``complaint_noise``). With nothing relevant to say, the complaint goes to a person.
        """
        problem = self.cues.patterns["complaint_noise"].sub(" ", u.text).strip() if self.cues else u.text
        found = self.knowledge_answer(replace(u, text=problem or u.text), pc, route)
        if found.fallback or found.trigger not in ("answer", "clarify"):
            return PolicyResult(pc.say("handoff_dispute"), "handoff", handoff_reason="dispute")
        reply = "\n".join((pc.say("complaint_apology"), found.reply, pc.say("complaint_offer_person")))
        return PolicyResult(reply, found.trigger, found.sources, resolved=found.resolved,
                            suggestions=found.suggestions)


def choice_intent(u: Understanding, pending_intent: str | None) -> str:
    """What an answer to "which product?" asks: its own question (大的那个多少钱 -> the price)
    when it asks one the classifier is sure of, or the fact its words name; otherwise the
    question that was pending when the bot asked."""
    if u.own_question and not u.unsure and u.intent in PRODUCT_INTENTS:
        return u.intent
    return u.asked_fact or pending_intent or "product_attribute"
