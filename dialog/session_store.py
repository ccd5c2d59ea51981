"""Session contexts between messages: an in-process store (one worker, tests,
notebooks) and a Redis store shared by every API worker.

Both implement ``dialog.ports.SessionStore``: a context lives ``ttl_s`` seconds
after its last save, and its history is trimmed to the newest ``max_history``
turns on every save. Contexts are stored as JSON so the in-process store hands
out copies, never the object another thread is editing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from dialog.errors import DialogError
from schema.conversation import SessionContext

logger = logging.getLogger(__name__)


class SessionStoreError(DialogError):
    """The session backend could not be read or written."""


def _trimmed(context: SessionContext, max_history: int) -> SessionContext:
    if len(context.history) <= max_history:
        return context
    return context.model_copy(update={"history": context.history[-max_history:]})


class InMemorySessionStore:
    """Thread-safe dict of JSON contexts with a time-to-live; for one process."""

    def __init__(self, ttl_s: float = 1800.0, max_history: int = 40,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or max_history <= 0:
            raise ValueError("ttl_s and max_history must be positive")
        self.ttl_s = ttl_s
        self.max_history = max_history
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, str]] = {}

    def load(self, session_id: str) -> SessionContext | None:
        now = self._clock()
        with self._lock:
            item = self._items.get(session_id)
            if item is None:
                return None
            expires_at, payload = item
            if expires_at <= now:
                del self._items[session_id]
                return None
        return SessionContext.model_validate_json(payload)

    def exists(self, session_id: str) -> bool:
        return self.load(session_id) is not None

    def save(self, context: SessionContext) -> None:
        payload = _trimmed(context, self.max_history).model_dump_json()
        now = self._clock()
        with self._lock:
            self._items[context.session_id] = (now + self.ttl_s, payload)
            if len(self._items) % 256 == 0:
                self._purge(now)

    def delete(self, session_id: str) -> bool:
        now = self._clock()
        with self._lock:
            item = self._items.pop(session_id, None)
        return item is not None and item[0] > now

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            self._purge(now)
            return len(self._items)

    def _purge(self, now: float) -> None:
        """Drop expired entries; the caller holds the lock."""
        for key in [k for k, (exp, _) in self._items.items() if exp <= now]:
            del self._items[key]


class RedisSessionStore:
    """Contexts as JSON strings under ``<prefix><session_id>``, written with ``SET ... EX``
    (SETEX semantics: value and time-to-live in one atomic command)."""

    def __init__(self, client: redis.Redis, ttl_s: int = 1800, max_history: int = 40,
                 prefix: str = "yeban:session:") -> None:
        if ttl_s <= 0 or max_history <= 0:
            raise ValueError("ttl_s and max_history must be positive")
        self.client = client
        self.ttl_s = int(ttl_s)
        self.max_history = max_history
        self.prefix = prefix

    def _key(self, session_id: str) -> str:
        return self.prefix + session_id

    def load(self, session_id: str) -> SessionContext | None:
        try:
            payload = self.client.get(self._key(session_id))
        except redis.RedisError as e:
            raise SessionStoreError(f"cannot read session from Redis: {e}") from e
        if payload is None:
            return None
        return SessionContext.model_validate_json(payload)

    def exists(self, session_id: str) -> bool:
        try:
            return bool(self.client.exists(self._key(session_id)))
        except redis.RedisError as e:
            raise SessionStoreError(f"cannot read session from Redis: {e}") from e

    def save(self, context: SessionContext) -> None:
        payload = _trimmed(context, self.max_history).model_dump_json()
        try:
            self.client.set(self._key(context.session_id), payload, ex=self.ttl_s)
        except redis.RedisError as e:
            raise SessionStoreError(f"cannot write session to Redis: {e}") from e

    def delete(self, session_id: str) -> bool:
        try:
            return bool(self.client.delete(self._key(session_id)))
        except redis.RedisError as e:
            raise SessionStoreError(f"cannot delete session from Redis: {e}") from e
