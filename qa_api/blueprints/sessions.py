"""Conversation records: ``GET /v1/sessions/{id}`` (agents read the transcript) and
``DELETE /v1/sessions/{id}`` (erasure of the session, its tickets, its events and whatever the
stores registered in ``YebanServices.session_erasers`` hold for it, e.g. leads)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from qa_api.errors import NotFound
from qa_api.routing import Operation, current_identity, endpoint, json_response, services
from qa_api.schemas import ErasureResult
from schema.conversation import SessionContext

logger = logging.getLogger(__name__)
bp = Blueprint("sessions", __name__)


@endpoint(bp, "/v1/sessions/<session_id>", ["GET"], Operation(
    summary="A conversation's context and transcript", tag="sessions", roles=("agent",),
    response=SessionContext, errors=(401, 403, 404)))
def get_session(session_id: str) -> Response:
    svc = services()
    context = svc.engine.transcript(session_id) if svc.engine is not None else svc.sessions.load(session_id)
    if context is None:
        raise NotFound(f"no session {session_id} (unknown or expired)", code="session_not_found")
    return json_response(context)


@endpoint(bp, "/v1/sessions/<session_id>", ["DELETE"], Operation(
    summary="Erase a conversation: its session, its hand-off tickets and its analytics events",
    tag="sessions", roles=("operator",), response=ErasureResult, errors=(401, 403, 404)))
def erase_session(session_id: str) -> Response:
    svc = services()
    session_deleted = svc.sessions.delete(session_id)
    tickets = svc.handoffs.delete_for_session(session_id)
    events = svc.events.delete_for_session(session_id)
    if svc.outcomes is not None:
        events += svc.outcomes.delete_for_session(session_id)
    other = {name: store.delete_for_session(session_id) for name, store in svc.session_erasers.items()}
    if svc.engine is not None:  # the engine may hold its own stores or caches
        session_deleted = svc.engine.erase(session_id) or session_deleted
    if not (session_deleted or tickets or events or any(other.values())):
        raise NotFound(f"nothing stored for session {session_id}", code="session_not_found")
    logger.info("erased session %s for %s (%d tickets, %d events)", session_id, current_identity().name,
                tickets, events)
    return json_response(ErasureResult(session_id=session_id, session_deleted=session_deleted,
                                       tickets_deleted=tickets, events_deleted=events, other_deleted=other))
