"""Building hand-off tickets: the transcript, the reason and three suggested
replies for the agent, drawn from the FAQ, the graph and the policies."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Protocol

from neo4j import exceptions as neo4j_exc

from dialog.policies.base import Knowledge, Searcher, TextCache
from graph.errors import GraphError
from retrieval.errors import RetrievalError
from schema.conversation import ChatReply, HandoffTicket, SessionContext
from schema.types import EntityLink

logger = logging.getLogger(__name__)

# Suggestions are best effort: the ticket must be created even if a source is down.
_SOURCE_DOWN = (RetrievalError, GraphError, neo4j_exc.DriverError, neo4j_exc.Neo4jError, OSError)


class AgentHours(Protocol):
    def is_open(self, now: datetime) -> bool: ...

    def reply_time_message(self, now: datetime) -> str: ...


def suggested_replies(text: str, ctx: SessionContext, searcher: Searcher, cache: TextCache,
                      knowledge: Knowledge | None, now: datetime) -> list[str]:
    """Up to three replies an agent can send as they are, each from the store's data."""
    suggestions: list[str] = []
    try:
        hits = searcher.search(text, k=3)
    except _SOURCE_DOWN:
        logger.warning("FAQ search failed while building hand-off suggestions", exc_info=True)
        hits = []
    if hits and hits[0].id in cache.faq:
        suggestions.append(cache.faq[hits[0].id].answer)
    if ctx.last_product_id and knowledge is not None:
        try:
            product = knowledge.product(ctx.last_product_id)
            if product is not None:
                price = f"¥{product.price:g}" if product.price is not None else ""
                suggestions.append(f"亲，您咨询的是「{product.display_name}」{price}，我来帮您核实处理。")
        except _SOURCE_DOWN:
            logger.warning("graph unavailable while building hand-off suggestions", exc_info=True)
    try:
        clause_hits = searcher.search_clauses(text, k=1, allowed_clause_ids=set(cache.clauses) or None)
    except _SOURCE_DOWN:
        clause_hits = []
    if clause_hits and clause_hits[0].id in cache.clauses:
        clause = cache.clauses[clause_hits[0].id]
        suggestions.append(f"根据「{clause.policy_title}」：{clause.text}")
    for hit in hits[1:]:
        if len(suggestions) >= 3:
            break
        if hit.id in cache.faq and cache.faq[hit.id].answer not in suggestions:
            suggestions.append(cache.faq[hit.id].answer)
    if not suggestions:
        suggestions.append("非常抱歉给您带来不便，我是人工客服，请问具体遇到了什么问题呢？")
    return suggestions[:3]


def new_ticket(ctx: SessionContext, reason: str, intent: str | None, entities: list[EntityLink],
               suggestions: list[str], now: datetime) -> HandoffTicket:
    return HandoffTicket(
        ticket_id=uuid.uuid4().hex[:12],
        session_id=ctx.session_id,
        reason=reason,
        intent=intent,
        entities=[ChatReply.entity_dict(e) for e in entities],
        transcript=list(ctx.history),
        suggested_replies=suggestions,
        created_at=now,
    )
