"""Write-behind event log: events leave the request at once, reach SQLite in batches within the
flush interval, are visible to their own process immediately, survive close, and work after fork."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from dialog.event_writer import WriteBehindEventLog
from dialog.events import EventLogError, SqliteEventLog
from schema.conversation import ConversationEvent

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _event(session_id: str, minutes: int, message: str = "有货吗") -> ConversationEvent:
    return ConversationEvent(session_id=session_id, at=T0 + timedelta(minutes=minutes), message=message,
                             intent="stock_check", confidence=0.9, state="answered", resolved=True,
                             fallback=False, latency_ms=12.0)


def _rows(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def _log(tmp_path) -> SqliteEventLog:
    log = SqliteEventLog(tmp_path / "events.sqlite3", clock=lambda: T0 + timedelta(days=1))
    assert log.count() == 0  # creates the file and its table, so that plain readers can count
    return log


def test_events_reach_the_file_within_the_flush_interval_in_batches(tmp_path):
    base = _log(tmp_path)
    batches: list[int] = []
    original = base.record_many

    def counting(events):
        batches.append(len(events))
        original(events)

    base.record_many = counting
    log = WriteBehindEventLog(base, flush_every_s=0.2)
    for i in range(300):
        log.record(_event(f"s{i % 7}", i, "订单号 123456789012 手机 13812345678"))
    deadline = time.monotonic() + 10
    while _rows(base.path) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _rows(base.path) == 300  # another process (a plain SQLite reader) sees them without a flush
    assert len(batches) < 300 and sum(batches) == 300  # batched, not one transaction per event
    stored = base.events()
    assert "123456789012" not in stored[0].message and "13812345678" not in stored[0].message  # masked
    log.close()


def test_own_reads_and_erasure_see_events_still_queued(tmp_path):
    log = WriteBehindEventLog(_log(tmp_path), flush_every_s=60)  # the thread would not flush in time
    log.record(_event("a", 1))
    log.record(_event("b", 2))
    log.record(_event("a", 3))
    assert [e.session_id for e in log.events()] == ["a", "b", "a"]
    log.record(_event("b", 5))
    assert log.last_event_at("b") == T0 + timedelta(minutes=5)  # the rating window reads it
    log.record(_event("a", 4))
    assert log.delete_for_session("a") == 3
    assert log.count() == 2
    log.close()


def test_close_writes_what_is_left_and_later_records_are_synchronous(tmp_path):
    base = _log(tmp_path)
    log = WriteBehindEventLog(base, flush_every_s=60)
    for i in range(5):
        log.record(_event("s", i))
    assert _rows(base.path) == 0
    log.close()
    assert _rows(base.path) == 5
    log.record(_event("s", 9))
    assert _rows(base.path) == 6


def test_a_failed_batch_is_logged_and_the_writer_goes_on(tmp_path, caplog):
    base = _log(tmp_path)
    log = WriteBehindEventLog(base, flush_every_s=0.05)
    original = base.record_many
    failing = threading.Event()
    failing.set()

    def flaky(events):
        if failing.is_set():
            failing.clear()
            raise EventLogError("disk full")
        original(events)

    base.record_many = flaky
    log.record(_event("lost", 1))
    deadline = time.monotonic() + 5
    while failing.is_set() and time.monotonic() < deadline:
        time.sleep(0.02)
    log.record(_event("kept", 2))
    deadline = time.monotonic() + 5
    while _rows(base.path) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.session_id for e in base.events()] == ["kept"]
    assert "could not be written" in caplog.text
    log.close()


def _child_records(log: WriteBehindEventLog, n: int) -> None:
    for i in range(n):
        log.record(_event("child", i))
    log.close()  # multiprocessing children leave through os._exit: no atexit, so close explicitly


def test_a_forked_worker_gets_its_own_writer(tmp_path):
    log = WriteBehindEventLog(_log(tmp_path), flush_every_s=0.1)
    log.record(_event("parent", 0))  # the parent's thread exists before the fork (gunicorn forks later)
    child = multiprocessing.get_context("fork").Process(target=_child_records, args=(log, 20))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    sessions = [e.session_id for e in log.events()]
    assert sessions.count("child") == 20 and sessions.count("parent") == 1
    log.close()


def test_the_flush_interval_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="flush_every_s"):
        WriteBehindEventLog(_log(tmp_path), flush_every_s=0)
