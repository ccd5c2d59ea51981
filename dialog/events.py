"""The append-only conversation event log in SQLite (implements
``dialog.ports.EventLog``).

The database runs in WAL mode with a busy timeout, and every call opens its
own short-lived connection, so several gunicorn workers (separate processes)
and threads can record and read concurrently without sharing a handle across
``fork``. Timestamps are stored as UTC epoch seconds for range queries; the
event itself is kept as its pydantic JSON.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from dialog.errors import DialogError
from schema.conversation import ConversationEvent

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

    def __init__(self, path: Path | str, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._init_lock = threading.Lock()
        self._ready = False

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
        with self._connect() as conn:
            conn.execute("INSERT INTO events(session_id, at_ts, payload) VALUES (?, ?, ?)",
                         (event.session_id, _epoch(event.at), event.model_dump_json()))

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

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
