"""What happened after a conversation: orders attributed to it (conversions)
and the shopper's satisfaction rating, in the event log's SQLite file.

Tables of their own beside ``events`` (``dialog.events`` owns that one): a
conversion per order (an order converts at most one session), one rating per
session (a new rating replaces the old). Both are erased with the session.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from dialog.errors import DialogError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS conversions (order_id TEXT PRIMARY KEY, session_id TEXT NOT NULL,"
    " at_ts REAL NOT NULL, payload TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS conversions_session ON conversions(session_id)",
    "CREATE TABLE IF NOT EXISTS ratings (session_id TEXT PRIMARY KEY, at_ts REAL NOT NULL, payload TEXT NOT NULL)",
)


class OutcomeStoreError(DialogError):
    """The outcome tables could not be read or written."""


class Conversion(BaseModel):
    session_id: str
    order_id: str
    order_at: datetime
    revenue: float
    matched_by: str  # user_id or phone_hash
    hours_after: float


class Rating(BaseModel):
    session_id: str
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)
    at: datetime


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class SqliteOutcomeStore:
    """Conversions and ratings; every call opens a short-lived connection (safe across workers)."""

    def __init__(self, path: Path | str, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise OutcomeStoreError(f"cannot open outcome store {self.path}: {e}") from e
        try:
            if not self._ready:
                for statement in _SCHEMA:
                    conn.execute(statement)
                self._ready = True
            yield conn
        except sqlite3.Error as e:
            raise OutcomeStoreError(f"outcome store {self.path}: {e}") from e
        finally:
            conn.close()

    def record_conversion(self, conversion: Conversion) -> bool:
        """Store it unless that order is already attributed; True when stored."""
        with self._connect() as conn:
            cur = conn.execute("INSERT OR IGNORE INTO conversions(order_id, session_id, at_ts, payload) "
                               "VALUES (?, ?, ?, ?)", (conversion.order_id, conversion.session_id,
                                                       _epoch(conversion.order_at), conversion.model_dump_json()))
            return cur.rowcount == 1

    def conversions(self) -> list[Conversion]:
        with self._connect() as conn:
            rows = conn.execute("SELECT payload FROM conversions ORDER BY at_ts, order_id").fetchall()
        return [Conversion.model_validate_json(r[0]) for r in rows]

    def record_rating(self, rating: Rating) -> None:
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO ratings(session_id, at_ts, payload) VALUES (?, ?, ?)",
                         (rating.session_id, _epoch(rating.at), rating.model_dump_json()))

    def ratings(self) -> list[Rating]:
        with self._connect() as conn:
            rows = conn.execute("SELECT payload FROM ratings ORDER BY at_ts").fetchall()
        return [Rating.model_validate_json(r[0]) for r in rows]

    def delete_for_session(self, session_id: str) -> int:
        with self._connect() as conn:
            a = conn.execute("DELETE FROM conversions WHERE session_id = ?", (session_id,)).rowcount
            b = conn.execute("DELETE FROM ratings WHERE session_id = ?", (session_id,)).rowcount
        return a + b
