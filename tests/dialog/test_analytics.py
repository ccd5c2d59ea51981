"""Analytics figures computed from events recorded in the real SQLite event log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialog.analytics import normalise_question, percentile, summarize
from dialog.events import SqliteEventLog
from schema.conversation import ConversationEvent

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2025, 6, 1, tzinfo=SH)


def _ev(session: str, hh: int, mm: int, intent: str, latency: float, *, message: str = "问题",
        resolved: bool = False, fallback: bool = False, handoff: str | None = None,
        day_offset: int = 0) -> ConversationEvent:
    at = DAY + timedelta(days=day_offset, hours=hh, minutes=mm)
    return ConversationEvent(session_id=session, at=at, message=message, intent=intent, confidence=0.8,
                             state="answered", resolved=resolved, fallback=fallback,
                             handoff_reason=handoff, latency_ms=latency)


@pytest.fixture()
def recorded(tmp_path):
    log = SqliteEventLog(tmp_path / "events.db", clock=lambda: DAY + timedelta(days=1))  # events are recent
    for event in [
        _ev("s1", 23, 30, "stock_check", 100, resolved=True),
        _ev("s1", 23, 31, "shipping", 200, resolved=True),
        _ev("s2", 2, 0, "return_refund", 300, message="能不能 开发票？", fallback=True, day_offset=1),
        _ev("s2", 2, 1, "return_refund", 400, message="能不能开发票", fallback=True,
            handoff="repeated_fallback", day_offset=1),
        _ev("s3", 10, 0, "complaint", 50, message="你们怎么回事！！订单1234567890123456", handoff="dispute"),
        _ev("s4", 14, 0, "greeting", 10),
        _ev("s4", 14, 1, "invoice", 20, message="能不能开发票吗", fallback=True),
        _ev("s4", 7, 59, "invoice", 30, resolved=True),
        _ev("s4", 8, 0, "price_promotion", 40, resolved=True),
        _ev("s9", 12, 0, "invoice", 999, fallback=True, day_offset=5),  # outside the window
    ]:
        log.record(event)
    return log


def test_summary_figures(recorded):
    start, end = DAY, DAY + timedelta(days=2)
    s = summarize(recorded.events(start, end), start, end)
    assert s.messages == 9 and s.sessions == 4
    assert s.by_intent == {"return_refund": 2, "invoice": 2, "stock_check": 1, "shipping": 1,
                           "complaint": 1, "greeting": 1, "price_promotion": 1}
    expected_hours = [0] * 24
    for hour, n in {23: 2, 2: 2, 10: 1, 14: 2, 7: 1, 8: 1}.items():
        expected_hours[hour] = n
    assert s.by_hour == expected_hours
    assert s.night_messages == 5 and s.night_share == pytest.approx(5 / 9, abs=1e-4)
    assert s.auto_resolution_rate == pytest.approx(4 / 9, abs=1e-4)
    assert s.fallback_rate == pytest.approx(3 / 9, abs=1e-4)
    assert s.handoffs == 2 and s.handoff_rate == 0.5
    assert s.handoff_reasons == {"repeated_fallback": 1, "dispute": 1}
    assert (s.latency_p50_ms, s.latency_p95_ms) == (50, 400)
    assert [(q.text, q.count) for q in s.top_unanswered] == [("能不能开发票", 3), ("你们怎么回事订单", 1)]


def test_summarize_applies_the_window_itself(recorded):
    everything = recorded.events()
    s = summarize(everything, DAY + timedelta(days=5), DAY + timedelta(days=6))
    assert s.messages == 1 and s.by_intent == {"invoice": 1}
    assert summarize(everything).messages == 10


def test_empty_window_gives_zero_rates_not_errors():
    s = summarize([], DAY, DAY + timedelta(days=1))
    assert s.messages == 0 and s.night_share == 0.0 and s.latency_p50_ms is None
    assert s.top_unanswered == []


def test_hot_topic_board_is_capped_and_ordered(recorded):
    s = summarize(recorded.events(), top_n=1)
    assert [(q.text, q.count) for q in s.top_unanswered] == [("能不能开发票", 3)]


def test_normalisation_folds_width_punctuation_particles_and_numbers():
    assert normalise_question("ＸＬ码 还有吗？？") == "xl码还有"
    assert normalise_question("查下订单 2024051812345678") == "查下订单#"
    assert normalise_question("吗") == "吗"


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([float(i) for i in range(1, 101)], 50) == 50.0


def test_summary_serialises_to_json(recorded):
    s = summarize(recorded.events(), DAY, DAY + timedelta(days=2))
    data = s.model_dump(mode="json")
    assert data["start"] == "2025-06-01T00:00:00+08:00"
    assert len(data["by_hour"]) == 24
