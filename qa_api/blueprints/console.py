"""JSON endpoints behind the agent and operator consoles: who am I, a ticket with its
linked products and the bot's sources, "try a question" on a throwaway session, an
agent's answer saved as a new FAQ entry (a pending change set for an operator), and
the unanswered questions grouped into clusters."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response

from dialog.analytics import STORE_TZ, summarize
from ingest.models import ChangeSet
from qa_api.blueprints.analytics import DEFAULT_WINDOW
from qa_api.clusters import cluster_questions
from qa_api.errors import ServiceUnavailable
from qa_api.live import ticket_priority
from qa_api.routing import (
    Operation,
    current_identity,
    endpoint,
    json_response,
    parse_body,
    parse_query,
    services,
)
from qa_api.schemas import (
    AnalyticsQuery,
    ConsoleTicket,
    FaqFromAnswerRequest,
    IdentityOut,
    TryQuestionOut,
    TryQuestionRequest,
    UnansweredClusters,
)
from schema.records import FAQRecord

logger = logging.getLogger(__name__)
bp = Blueprint("console", __name__)
TRY_CHANNEL = "console-try"


@endpoint(bp, "/v1/console/me", ["GET"], Operation(
    summary="The identity behind the bearer token (the consoles' login check)", tag="console",
    roles=("agent", "operator"), response=IdentityOut, errors=(401, 403)))
def me() -> Response:
    identity = current_identity()
    return json_response(IdentityOut(name=identity.name, role=identity.role))


def _product_ids(ticket_entities: list[dict], turns: list[Any]) -> list[str]:
    ids: list[str] = []
    for e in ticket_entities:
        if e.get("type") == "product" and e.get("value") and e["value"] not in ids:
            ids.append(str(e["value"]))
    for turn in turns:
        for s in turn.sources:
            if s.get("kind") == "product" and s.get("id") not in ids:
                ids.append(str(s["id"]))
    return ids


@endpoint(bp, "/v1/console/tickets/<ticket_id>", ["GET"], Operation(
    summary="A hand-off ticket with its priority, the products it mentions and the bot's sources",
    tag="console", roles=("agent",), response=ConsoleTicket, errors=(401, 403, 404)))
def ticket(ticket_id: str) -> Response:
    svc = services()
    t = svc.handoffs.get(ticket_id)
    products: list[dict[str, Any]] = []
    knowledge = svc.knowledge
    if knowledge is not None:
        for pid in _product_ids(t.entities, t.transcript)[:5]:
            try:
                info = knowledge.product(pid)
                variants = knowledge.variants(pid) if info is not None else []
            except Exception:  # the console still shows the ticket while the graph is down
                logger.warning("product %s unavailable for ticket %s", pid, ticket_id, exc_info=True)
                continue
            if info is not None:
                stock = sum(v.stock for v in variants) if variants else info.total_stock
                products.append({"product_id": pid, "name": info.display_name, "price": info.price,
                                 "stock": stock})
    sources = [s for turn in t.transcript for s in turn.sources]
    session = svc.sessions.load(t.session_id)
    return json_response(ConsoleTicket(ticket=t, priority=ticket_priority(t), products=products,
                                       sources=sources, channel=session.channel if session else None))


@endpoint(bp, "/v1/console/try", ["POST"], Operation(
    summary="Ask the bot one question on a throwaway session (erased afterwards, so analytics stay "
            "clean): reply, intent, entities and the answering sources", tag="console",
    roles=("operator",), request=TryQuestionRequest, response=TryQuestionOut, errors=(400, 401, 403, 503)))
def try_question() -> Response:
    body = parse_body(TryQuestionRequest)
    svc = services()
    if svc.engine is None:
        raise ServiceUnavailable("the chat engine is not configured", code="engine_unavailable")
    session_id = "try-" + secrets.token_hex(16)
    try:
        reply = svc.engine.chat(session_id, body.message, channel=TRY_CHANNEL)
    finally:
        svc.engine.erase(session_id)
    return json_response(TryQuestionOut(session_id=session_id, reply=reply))


def _faq_id() -> str:
    return "FAQ-AGENT-" + datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(3)


@endpoint(bp, "/v1/console/faq", ["POST"], Operation(
    summary="Save an answer as a new FAQ entry: creates a pending change set for an operator to review",
    tag="console", roles=("agent", "operator"), request=FaqFromAnswerRequest, response=ChangeSet,
    response_status=201, errors=(400, 401, 403, 503)))
def faq_from_answer() -> Response:
    body = parse_body(FaqFromAnswerRequest)
    svc = services()
    if svc.changesets is None:
        raise ServiceUnavailable("the change-set service is not configured", code="changesets_unavailable")
    author = current_identity().name
    record = FAQRecord(faq_id=_faq_id(), question=body.question, answer=body.answer,
                       paraphrases=body.paraphrases, tags=["agent-answer"])
    change_set = svc.changesets.create([record], author)
    logger.info("FAQ %s proposed by %s as change set %s (ticket %s)", record.faq_id, author, change_set.id,
                body.ticket_id)
    return json_response(change_set, 201)


@endpoint(bp, "/v1/console/unanswered", ["GET"], Operation(
    summary="Unanswered questions of the window grouped into clusters of similar wording",
    tag="console", roles=("operator",), query=AnalyticsQuery, response=UnansweredClusters,
    errors=(400, 401, 403)))
def unanswered() -> Response:
    start, end = parse_query(AnalyticsQuery).window(ZoneInfo(STORE_TZ), DEFAULT_WINDOW)
    summary = summarize(services().events.events(start, end), start, end)
    items = [(q.text, q.count) for q in summary.top_unanswered]
    return json_response(UnansweredClusters(clusters=cluster_questions(items)))
