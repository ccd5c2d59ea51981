"""``POST /v1/sessions/{id}/rating``: the shopper's satisfaction (1-5, optional comment)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field

from dialog.analytics import STORE_TZ
from dialog.outcomes import Rating
from qa_api.errors import NotFound
from qa_api.routing import Operation, endpoint, json_response, parse_body, services

bp = Blueprint("ratings", __name__)


class RatingRequest(BaseModel):
    model_config = ConfigDict(strict=True, str_strip_whitespace=True, extra="forbid")
    score: int = Field(ge=1, le=5, description="1 (very unhappy) to 5 (very happy)")
    comment: str | None = Field(default=None, max_length=500)


@endpoint(bp, "/v1/sessions/<session_id>/rating", ["POST"], Operation(
    summary="Rate a conversation 1-5 with an optional comment (the last rating of a session counts)",
    tag="sessions", request=RatingRequest, response=Rating, errors=(400, 404)))
def rate(session_id: str) -> Response:
    body = parse_body(RatingRequest)
    svc = services()
    known = svc.sessions.load(session_id) is not None
    if not known:
        raise NotFound(f"no session {session_id} (unknown or expired)", code="session_not_found")
    rating = Rating(session_id=session_id, score=body.score, comment=body.comment or None,
                    at=datetime.now(ZoneInfo(STORE_TZ)))
    svc.outcomes.record_rating(rating)
    return json_response(rating, status=201)
