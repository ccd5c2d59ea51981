"""The SQLite event log: record/read, time ranges, erasure, WAL, and concurrent writers in separate processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta

from dialog.events import SqliteEventLog
from schema.conversation import ConversationEvent

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _now() -> datetime:
    """The log's clock: a day after the events, well inside the retention period."""
    return T0 + timedelta(days=1)


def _event(session_id: str, minutes: int, message: str = "有货吗", **kw) -> ConversationEvent:
    base = {"intent": "stock_check", "confidence": 0.9, "state": "answered", "resolved": True,
            "fallback": False, "latency_ms": 42.0}
    base.update(kw)
    return ConversationEvent(session_id=session_id, at=T0 + timedelta(minutes=minutes), message=message, **base)


def test_record_and_read_back_in_time_order(tmp_path):
    log = SqliteEventLog(tmp_path / "events.sqlite3", clock=_now)
    log.record(_event("s1", 5, "第二条"))
    log.record(_event("s1", 1, "第一条", handoff_reason="anger", resolved=False))
    events = log.events()
    assert [e.message for e in events] == ["第一条", "第二条"]
    assert events[0].handoff_reason == "anger"
    assert events[0].at == T0 + timedelta(minutes=1)


def test_range_is_half_open_and_accepts_other_zones(tmp_path):
    log = SqliteEventLog(tmp_path / "e.db", clock=_now)
    for m in range(10):
        log.record(_event("s", m))
    got = log.events(T0 + timedelta(minutes=3), T0 + timedelta(minutes=6))
    assert [e.at.minute for e in got] == [3, 4, 5]
    shanghai = T0.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert len(log.events(start=shanghai + timedelta(minutes=8))) == 2
    assert len(log.events(end=T0)) == 0


def test_delete_for_session_erases_only_that_session(tmp_path):
    log = SqliteEventLog(tmp_path / "e.db", clock=_now)
    for m in range(3):
        log.record(_event("gone", m))
    log.record(_event("kept", 9))
    assert log.delete_for_session("gone") == 3
    assert [e.session_id for e in log.events()] == ["kept"]
    assert log.delete_for_session("gone") == 0


def test_database_runs_in_wal_mode(tmp_path):
    path = tmp_path / "e.db"
    SqliteEventLog(path, clock=_now).record(_event("s", 0))
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def _writer(path: str, worker: int, n: int) -> None:
    log = SqliteEventLog(path, clock=_now)
    for i in range(n):
        log.record(_event(f"w{worker}", i))


def test_concurrent_writers_in_separate_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.db")
    SqliteEventLog(path, clock=_now).count()  # create before the workers start, as the app does
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 150)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    log = SqliteEventLog(path, clock=_now)
    assert log.count() == 600
    assert {e.session_id for e in log.events()} == {"w0", "w1", "w2", "w3"}


def test_messages_are_masked_before_they_are_stored(tmp_path):
    path = tmp_path / "e.db"
    log = SqliteEventLog(path, clock=_now)
    log.record(_event("s", 0, "订单2026111500000001 手机13812345678 尾号5678 寄到浙江省杭州市西湖区文三路90号 "
                              "微信 abc_12345 邮箱 zhang.san@example.com 红色L码 2件 1299元"))
    (stored,) = log.events()
    assert stored.message == ("订单**************** 手机138******** 尾号**** 寄到浙江省杭州市西湖区*** "
                              "微信 *** 邮箱 z***@example.com 红色L码 2件 1299元")
    raw = sqlite3.connect(path).execute("SELECT payload FROM events").fetchone()[0]
    assert not any(secret in raw for secret in ("2026111500000001", "0001", "13812345678", "5678", "文三路",
                                                "abc_12345", "zhang.san"))


def test_events_older_than_the_retention_period_are_deleted(tmp_path):
    now = [T0 + timedelta(days=1)]
    log = SqliteEventLog(tmp_path / "e.db", retention_days=90, clock=lambda: now[0])
    log.record(_event("old", 0))
    log.record(_event("new", 60 * 24 * 80))
    assert log.count() == 2
    now[0] = T0 + timedelta(days=90, minutes=1)
    assert log.purge_expired() == 1
    assert {e.session_id for e in log.events()} == {"new"}
    now[0] = T0 + timedelta(days=200)
    assert log.purge_expired() == 1 and log.count() == 0


def test_recording_purges_on_its_own(tmp_path):
    log = SqliteEventLog(tmp_path / "e.db", retention_days=90, clock=lambda: T0 + timedelta(days=365))
    log.record(_event("stale", 0))  # the first record of a process purges, and this event is past retention
    assert log.count() == 0


def test_retention_must_be_positive(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="events_retention_days must be positive"):
        SqliteEventLog(tmp_path / "e.db", retention_days=0)
