"""``POST /v1/sessions/{id}/rating``: the shopper's satisfaction (1-5, optional comment).

A shopper often rates after the conversation is over: a session whose Redis
context has expired can still be rated for ``rating_window_h`` hours (default
24) after its last message. The eligibility record is the event log's last
event of the session, so an erased session (events deleted) or one past the
event retention can no longer be rated, and an id the server never saw is 404.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dialog.analytics import STORE_TZ
from dialog.outcomes import Rating
from qa_api.errors import NotFound
from qa_api.routing import Operation, endpoint, json_response, parse_body, services

bp = Blueprint("ratings", __name__)


def _clock(svc):
    """The bot's clock (a test or replay may run the engine on its own), else the store's wall clock."""
    return getattr(svc.engine, "clock", None) or (lambda: datetime.now(ZoneInfo(STORE_TZ)))


class RatingRequest(BaseModel):
    model_config = ConfigDict(strict=True, str_strip_whitespace=True, extra="forbid")
    score: int = Field(ge=1, le=5, description="1 (very unhappy) to 5 (very happy)")
    comment: str | None = Field(default=None, max_length=500)

    @field_validator("score", mode="before")
    @classmethod
    def _integral(cls, value: object) -> object:
        """JSON has one number type: ``4.0`` is the integer 4 (as JSON Schema says), ``4.5`` is not."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


@endpoint(bp, "/v1/sessions/<session_id>/rating", ["POST"], Operation(
    summary="Rate a conversation 1-5 with an optional comment (the last rating of a session counts)",
    tag="sessions", request=RatingRequest, response=Rating, errors=(400, 404)))
def rate(session_id: str) -> Response:
    body = parse_body(RatingRequest)
    svc = services()
    now = _clock(svc)()
    if svc.sessions.load(session_id) is None:
        window_h = svc.settings.rating_window_h
        last = svc.events.last_event_at(session_id)
        if last is None or now - last > timedelta(hours=window_h):
            raise NotFound(f"no session {session_id} to rate (unknown, erased, or its last message was more than "
                           f"{window_h:g} h ago)", code="session_not_found")
    rating = Rating(session_id=session_id, score=body.score, comment=body.comment or None, at=now)
    svc.outcomes.record_rating(rating)
    return json_response(rating, status=201)
