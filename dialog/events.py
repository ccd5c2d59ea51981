"""The append-only conversation event log in SQLite (implements
``dialog.ports.EventLog``).

The database runs in WAL mode with a busy timeout, and every call opens its
own short-lived connection, so several gunicorn workers (separate processes)
and threads can record and read concurrently without sharing a handle across
``fork``. Timestamps are stored as UTC epoch seconds for range queries; the
event itself is kept as its pydantic JSON.

Privacy: the shopper's message is masked before it is stored
(``schema.privacy.mask_event_text``: order numbers, phone numbers and phone
tails, addresses, e-mail and chat contacts); analytics need the intent and
the question, not the digits. Events older than ``retention_days`` (setting
``events_retention_days``, default 90) are deleted when the log opens and then
at most once an hour while it records.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dialog.errors import DialogError
from schema.conversation import ConversationEvent
from schema.privacy import mask_event_text

logger = logging.getLogger(__name__)

PURGE_EVERY_S = 3600.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " session_id TEXT NOT NULL,"
    " at_ts REAL NOT NULL,"
    " payload TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_at ON events(at_ts)",
    "CREATE INDEX IF NOT EXISTS events_session ON events(session_id)",
)


class EventLogError(DialogError):
    """The event database could not be opened, read or written."""


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:  # naive datetimes are taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class SqliteEventLog:
    """Conversation events in one SQLite file shared by every worker."""

    def __init__(self, path: Path | str, busy_timeout_s: float = 10.0, retention_days: float = 90.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if retention_days <= 0:
            raise ValueError(f"events_retention_days must be positive, not {retention_days}")
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.retention = timedelta(days=retention_days)
        self._clock = clock
        self._init_lock = threading.Lock()
        self._ready = False
        self._next_purge = 0.0

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._initialise()
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        except sqlite3.Error as e:
            raise EventLogError(f"cannot open event log {self.path}: {e}") from e
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        except sqlite3.Error as e:
            raise EventLogError(f"event log {self.path}: {e}") from e
        finally:
            conn.close()

    def _initialise(self) -> None:
        with self._init_lock:
            if self._ready:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    for statement in _SCHEMA:
                        conn.execute(statement)
                finally:
                    conn.close()
            except (OSError, sqlite3.Error) as e:
                raise EventLogError(f"cannot create event log {self.path}: {e}") from e
            self._ready = True

    def record(self, event: ConversationEvent) -> None:
        """Store ``event`` with its message masked."""
        self.record_many([event])

    def record_many(self, events: list[ConversationEvent]) -> None:
        """Store ``events`` (messages masked) in one transaction, all of them or none; purges
        expired events at most once an hour."""
        if not events:
            return
        rows = []
        for event in events:
            stored = event.model_copy(update={"message": mask_event_text(event.message)})
            rows.append((stored.session_id, _epoch(stored.at), stored.model_dump_json()))
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT INTO events(session_id, at_ts, payload) VALUES (?, ?, ?)", rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY_S
            self.purge_expired()

    def purge_expired(self) -> int:
        """Delete events older than the retention period; returns how many went."""
        cutoff = _epoch(self._clock() - self.retention)
        with self._connect() as conn:
            deleted = conn.execute("DELETE FROM events WHERE at_ts < ?", (cutoff,)).rowcount
        if deleted:
            logger.info("deleted %d events older than %s days", deleted, self.retention.days)
        return deleted

    def events(self, start: datetime | None = None, end: datetime | None = None) -> list[ConversationEvent]:
        """Events with ``start <= at < end`` (either bound optional), oldest first."""
        lo = _epoch(start) if start is not None else float("-inf")
        hi = _epoch(end) if end is not None else float("inf")
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT payload FROM events WHERE at_ts >= ? AND at_ts < ? ORDER BY at_ts, id", (lo, hi)
            ).fetchall()
        return [ConversationEvent.model_validate_json(row[0]) for row in rows]

    def delete_for_session(self, session_id: str) -> int:
        with self._connect() as conn:
            return conn.execute("DELETE FROM events WHERE session_id = ?", (session_id,)).rowcount

    def last_event_at(self, session_id: str) -> datetime | None:
        """When the session's latest event happened (UTC), or None: none recorded, erased or purged."""
        with self._connect() as conn:
            row = conn.execute("SELECT max(at_ts) FROM events WHERE session_id = ?", (session_id,)).fetchone()
        return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], UTC)

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
