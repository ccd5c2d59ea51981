"""Server-sent event streams: ``GET /v1/chat/stream`` for a shopper's widget (scoped to
one session id, sent as ``X-Yeban-Session``) and ``GET /v1/console/events`` for agents
(the live queue). Both poll the shared stores (``qa_api.live``), so they work with any
number of gunicorn workers."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, request, stream_with_context

from qa_api.errors import ApiError, BadRequest
from qa_api.live import queue_view, shopper_view
from qa_api.routing import Operation, endpoint, services
from qa_api.schemas import SESSION_ID_PATTERN
from qa_api.sse import StreamLimit, StreamTiming, changes

bp = Blueprint("stream", __name__)
LIMIT_KEY = "yeban.streams"
SESSION_HEADER = "X-Yeban-Session"
_SESSION_RE = re.compile(SESSION_ID_PATTERN)


class TooManyStreams(ApiError):
    status, code = 503, "too_many_streams"


@bp.record_once
def _limit_per_app(state) -> None:  # one counter per app (= per worker)
    settings = state.app.extensions["yeban"].settings
    state.app.extensions[LIMIT_KEY] = StreamLimit(settings.stream_max_per_worker)


def _stream(snapshot) -> Response:
    limit: StreamLimit = current_app.extensions[LIMIT_KEY]
    if not limit.acquire():
        raise TooManyStreams("too many live streams on this worker; retry shortly",
                             headers={"Retry-After": "3"})
    s = services().settings
    timing = StreamTiming(poll_s=s.stream_poll_s, max_s=s.stream_max_s)
    body = stream_with_context(changes(snapshot, timing, limit=limit))
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@endpoint(bp, "/v1/chat/stream", ["GET"], Operation(
    summary="Live events of one conversation for the shopper's widget: the agent's messages and the "
            "hand-off state (session id in the X-Yeban-Session header)",
    tag="chat", content_type="text/event-stream", errors=(400, 503),
    headers=((SESSION_HEADER, {"type": "string", "pattern": SESSION_ID_PATTERN}),)))
def shopper_stream() -> Response:
    session_id = request.headers.get(SESSION_HEADER) or request.args.get("session_id") or ""
    if not _SESSION_RE.match(session_id):
        raise BadRequest(f"send the conversation's session id in the {SESSION_HEADER} header",
                         code="validation_error", field=SESSION_HEADER)
    svc = services()
    return _stream(lambda: shopper_view(session_id, svc.sessions, svc.handoffs, svc.agent_hours))


@endpoint(bp, "/v1/console/events", ["GET"], Operation(
    summary="Live hand-off queue for the agent console (tickets, status, priority, message counts)",
    tag="handoffs", roles=("agent",), content_type="text/event-stream", errors=(401, 403, 503)))
def queue_stream() -> Response:
    svc = services()
    return _stream(lambda: queue_view(svc.handoffs))
