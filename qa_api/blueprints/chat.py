"""``POST /v1/chat``: one shopper message in, the bot's reply out (public, rate-limited)."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, request

from dialog.order_guard import client_scope
from qa_api.errors import RateLimited, ServiceUnavailable
from qa_api.routing import Operation, endpoint, json_response, parse_body, services
from qa_api.schemas import ChatRequest
from schema.conversation import ChatReply

logger = logging.getLogger(__name__)
bp = Blueprint("chat", __name__)


def _limit(scope: str, key: str) -> None:
    svc = services()
    limiter = svc.session_limiter if scope == "session" else svc.client_limiter
    decision = limiter.hit(key)
    if not decision.allowed:
        svc.metrics.rate_limited.labels(scope).inc()
        who = "this conversation" if scope == "session" else "this client"
        raise RateLimited(f"too many messages from {who}; retry in {decision.retry_after_s:.1f}s",
                          decision.retry_after_s)


@endpoint(bp, "/v1/chat", ["POST"], Operation(
    summary="Send one shopper message and get the bot's reply", tag="chat",
    request=ChatRequest, response=ChatReply, errors=(400, 429, 503)))
def chat() -> Response:
    body = parse_body(ChatRequest)
    svc = services()
    if svc.engine is None:
        raise ServiceUnavailable("the chat engine is not configured", code="engine_unavailable")
    client = request.remote_addr or "unknown"
    _limit("client", client)
    session_id = svc.session_ids.resolve(body.session_id, client)
    _limit("session", session_id)
    started = time.perf_counter()
    with client_scope(client):
        reply = svc.engine.chat(session_id, body.message, channel=body.channel, user_id=body.user_id)
    reply = reply.model_copy(update={"session_id": session_id})
    elapsed = time.perf_counter() - started
    svc.metrics.chat_latency.observe(elapsed)
    svc.metrics.intents.labels(reply.intent).inc()
    if reply.handoff is not None and reply.handoff.message:  # a ticket opened by this message
        svc.metrics.handoffs.labels(reply.handoff.reason).inc()
    logger.info("chat session=%s intent=%s state=%s latency_ms=%.1f", session_id, reply.intent,
                reply.state.value, elapsed * 1000)
    return json_response(reply)
