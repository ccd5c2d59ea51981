"""HTTP errors of the API and the one place where the packages' errors become
JSON responses ``{"error": {"code", "message"[, "field"][, "details"]}}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from flask import Flask, Response, current_app
from neo4j import exceptions as neo4j_exc
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from dialog.errors import (
    DialogError,
    InvalidTransition,
    OrderServiceError,
    SessionNotFound,
    TicketNotFound,
    TicketStateError,
)
from dialog.events import EventLogError
from dialog.handoff_queue import HandoffQueueError
from dialog.order_guard import OrderGuardError
from dialog.session_store import SessionStoreError
from graph.errors import GraphError, GraphUnavailableError
from ingest.errors import (
    ChangeSetNotFound,
    ChangeSetStateError,
    IngestError,
    InputError,
    StaleChangeSetError,
    ValidationFailed,
    WriteAborted,
)

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with its HTTP status, a stable machine code and a readable message."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 field: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.field = field
        self.headers = headers or {}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "a bearer token is required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="yeban"'})


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after_s + 0.999)))})


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"


def validation_error(e: ValidationError, prefix: str = "") -> BadRequest:
    """A 400 naming the first offending field, e.g. ``message: String should have at most 500 characters``."""
    first = e.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "body")
    return BadRequest(f"{field}: {first.get('msg', 'invalid value')}", code="validation_error", field=field)


# Domain errors of the other packages -> (status, code). Subclasses before their roots.
_DOMAIN: list[tuple[type[Exception], int, str]] = [
    (GraphUnavailableError, 503, "graph_unavailable"),
    (GraphError, 500, "graph_error"),
    (neo4j_exc.ServiceUnavailable, 503, "graph_unavailable"),
    (neo4j_exc.SessionExpired, 503, "graph_unavailable"),
    (neo4j_exc.DriverError, 503, "graph_unavailable"),
    (neo4j_exc.TransientError, 503, "graph_unavailable"),
    (neo4j_exc.Neo4jError, 500, "graph_error"),
    (SessionStoreError, 503, "state_unavailable"),
    (HandoffQueueError, 503, "state_unavailable"),
    (OrderGuardError, 503, "state_unavailable"),
    (EventLogError, 503, "state_unavailable"),
    (redis.RedisError, 503, "state_unavailable"),
    (TicketNotFound, 404, "ticket_not_found"),
    (SessionNotFound, 404, "session_not_found"),
    (TicketStateError, 409, "ticket_state"),
    (InvalidTransition, 409, "invalid_transition"),
    (OrderServiceError, 503, "order_service_unavailable"),
    (DialogError, 500, "dialog_error"),
    (ChangeSetNotFound, 404, "changeset_not_found"),
    (ChangeSetStateError, 409, "changeset_state"),
    (StaleChangeSetError, 409, "changeset_stale"),
    (ValidationFailed, 400, "invalid_records"),
    (InputError, 400, "invalid_input"),
    (WriteAborted, 409, "write_aborted"),
    (IngestError, 500, "ingest_error"),
]
MAX_DETAILS = 50


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None, details: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = details[:MAX_DETAILS]
    response = current_app.json.response({"error": body})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_exception(e: Exception) -> Response:
    if isinstance(e, ApiError):
        return error_response(e.status, e.code, e.message, e.field, e.headers)
    if isinstance(e, ValidationError):
        err = validation_error(e)
        return error_response(err.status, err.code, err.message, err.field)
    if isinstance(e, HTTPException):
        status = e.code or 500
        headers = {k: v for k, v in e.get_headers() if k.lower() in ("allow", "retry-after")}
        return error_response(status, _snake(e.name), e.description or e.name, headers=headers)
    for exc_type, status, code in _DOMAIN:
        if isinstance(e, exc_type):
            if status >= 500:
                logger.warning("request failed with %s: %s", type(e).__name__, e)
            details = None
            if isinstance(e, ValidationFailed):
                details = [str(issue) for issue in e.issues]
            elif isinstance(e, StaleChangeSetError):
                details = list(e.conflicts)
            return error_response(status, code, str(e), details=details)
    logger.error("unhandled error", exc_info=e)
    return error_response(500, "internal_error", "internal server error")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Exception, handle_exception)
