"""The SQLite event log: record/read, time ranges, erasure, WAL, and concurrent writers in separate processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta

from dialog.events import SqliteEventLog
from schema.conversation import ConversationEvent

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _event(session_id: str, minutes: int, message: str = "有货吗", **kw) -> ConversationEvent:
    base = {"intent": "stock_check", "confidence": 0.9, "state": "answered", "resolved": True,
            "fallback": False, "latency_ms": 42.0}
    base.update(kw)
    return ConversationEvent(session_id=session_id, at=T0 + timedelta(minutes=minutes), message=message, **base)


def test_record_and_read_back_in_time_order(tmp_path):
    log = SqliteEventLog(tmp_path / "events.sqlite3")
    log.record(_event("s1", 5, "第二条"))
    log.record(_event("s1", 1, "第一条", handoff_reason="anger", resolved=False))
    events = log.events()
    assert [e.message for e in events] == ["第一条", "第二条"]
    assert events[0].handoff_reason == "anger"
    assert events[0].at == T0 + timedelta(minutes=1)


def test_range_is_half_open_and_accepts_other_zones(tmp_path):
    log = SqliteEventLog(tmp_path / "e.db")
    for m in range(10):
        log.record(_event("s", m))
    got = log.events(T0 + timedelta(minutes=3), T0 + timedelta(minutes=6))
    assert [e.at.minute for e in got] == [3, 4, 5]
    shanghai = T0.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert len(log.events(start=shanghai + timedelta(minutes=8))) == 2
    assert len(log.events(end=T0)) == 0


def test_delete_for_session_erases_only_that_session(tmp_path):
    log = SqliteEventLog(tmp_path / "e.db")
    for m in range(3):
        log.record(_event("gone", m))
    log.record(_event("kept", 9))
    assert log.delete_for_session("gone") == 3
    assert [e.session_id for e in log.events()] == ["kept"]
    assert log.delete_for_session("gone") == 0


def test_database_runs_in_wal_mode(tmp_path):
    path = tmp_path / "e.db"
    SqliteEventLog(path).record(_event("s", 0))
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def _writer(path: str, worker: int, n: int) -> None:
    log = SqliteEventLog(path)
    for i in range(n):
        log.record(_event(f"w{worker}", i))


def test_concurrent_writers_in_separate_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.db")
    SqliteEventLog(path).count()  # create before the workers start, as the app does
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 150)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    log = SqliteEventLog(path)
    assert log.count() == 600
    assert {e.session_id for e in log.events()} == {"w0", "w1", "w2", "w3"}
