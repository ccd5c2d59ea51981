"""``GET /v1/analytics/summary``: operator figures computed from the event log."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response

from dialog.analytics import STORE_TZ, AnalyticsSummary, summarize
from dialog.conversion import NightShiftFigures, night_shift_figures
from qa_api.routing import Operation, endpoint, json_response, parse_query, services
from qa_api.schemas import AnalyticsQuery

bp = Blueprint("analytics", __name__)
DEFAULT_WINDOW = timedelta(days=7)


@endpoint(bp, "/v1/analytics/summary", ["GET"], Operation(
    summary="Traffic by intent and hour, night share, resolution, hand-off and fallback rates, "
            "latency and the most frequent unanswered questions (default: the last 7 days)",
    tag="analytics", roles=("operator",), query=AnalyticsQuery, response=AnalyticsSummary,
    errors=(400, 401, 403)))
def summary() -> Response:
    start, end = parse_query(AnalyticsQuery).window(ZoneInfo(STORE_TZ), DEFAULT_WINDOW)
    events = services().events.events(start, end)
    return json_response(summarize(events, start, end))


@endpoint(bp, "/v1/analytics/night-shift", ["GET"], Operation(
    summary="Leads and conversion by hour (night 22:00-08:00 vs day), revenue attributed, products most "
            "asked about at night without an order, time to first reply (the bot's, and a person's after a "
            "hand-off), auto-resolution and satisfaction "
            "(default: the last 7 days)",
    tag="analytics", roles=("operator",), query=AnalyticsQuery, response=NightShiftFigures,
    errors=(400, 401, 403)))
def night_shift() -> Response:
    start, end = parse_query(AnalyticsQuery).window(ZoneInfo(STORE_TZ), DEFAULT_WINDOW)
    svc = services()
    conversions = svc.outcomes.conversions() if svc.outcomes is not None else []
    ratings = svc.outcomes.ratings() if svc.outcomes is not None else []
    return json_response(night_shift_figures(svc.events.events(start, end), conversions, ratings,
                                             names=_names(svc), tickets=svc.handoffs.list()))


def _names(svc):
    if svc.knowledge is None:
        return None

    def names(ids: list[str]) -> dict[str, str]:
        return {p.product_id: p.display_name for p in svc.knowledge.products(ids)}
    return names
