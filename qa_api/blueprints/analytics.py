"""``GET /v1/analytics/summary``: operator figures computed from the event log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response

from dialog.analytics import STORE_TZ, AnalyticsSummary, summarize
from qa_api.errors import BadRequest
from qa_api.routing import Operation, endpoint, json_response, parse_query, services
from qa_api.schemas import AnalyticsQuery

bp = Blueprint("analytics", __name__)
DEFAULT_WINDOW = timedelta(days=7)


def _store_time(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(STORE_TZ))


@endpoint(bp, "/v1/analytics/summary", ["GET"], Operation(
    summary="Traffic by intent and hour, night share, resolution, hand-off and fallback rates, "
            "latency and the most frequent unanswered questions (default: the last 7 days)",
    tag="analytics", roles=("operator",), query=AnalyticsQuery, response=AnalyticsSummary,
    errors=(400, 401, 403)))
def summary() -> Response:
    query = parse_query(AnalyticsQuery)
    end = _store_time(query.end) or datetime.now(ZoneInfo(STORE_TZ))
    start = _store_time(query.start) or end - DEFAULT_WINDOW
    if start >= end:
        raise BadRequest("from must be earlier than to", code="validation_error", field="from")
    events = services().events.events(start, end)
    return json_response(summarize(events, start, end))
