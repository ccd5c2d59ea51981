"""Server-issued session ids, so that nobody can continue a conversation they did not start.

``SessionIds.resolve(requested, client)`` decides which conversation a chat
message belongs to:

* no ``session_id`` in the request: a new id (``secrets.token_urlsafe``, 144 random bits);
* an id the server issued whose session is still stored: that session;
* any other id (made up by the client, or expired): a **new** id and a fresh
  session. The client-chosen id is remembered only as an *alias* of the new
  session scoped to the client's address (a SHA-256 of address and id, kept as
  long as a session lives), so a client that keeps sending its own id - a test
  runner, an old widget - still has one working conversation, while the same
  id from any other address gets a session of its own and never inherits
  state. Every reply carries the id actually used; clients should send that one.

Only ids this class issues ever reach the engine, so "a stored session exists"
means "the server issued it".
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from dialog.ports import SessionStore
from qa_api.errors import ServiceUnavailable

ISSUED_PREFIX = "s_"
ISSUED_BYTES = 18  # 144 bits, 24 URL-safe characters


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return ISSUED_PREFIX + secrets.token_urlsafe(ISSUED_BYTES)


class AliasStore(Protocol):
    def bind(self, key: str, make: Callable[[], str]) -> str:
        """The id bound to ``key``, binding ``make()`` first if there is none; refreshes its lifetime."""
        ...


def alias_key(client: str, requested: str) -> str:
    return hashlib.sha256(f"{client}\0{requested}".encode()).hexdigest()


class InMemoryAliases:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, str]] = {}

    def bind(self, key: str, make: Callable[[], str]) -> str:
        now = self._clock()
        with self._lock:
            item = self._items.get(key)
            session_id = item[1] if item is not None and item[0] > now else make()
            self._items[key] = (now + self.ttl_s, session_id)
            if len(self._items) > 100_000:  # drop expired aliases now and then
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
            return session_id


class RedisAliases:
    def __init__(self, client: redis.Redis, ttl_s: int, prefix: str = "yeban:alias:") -> None:
        self.client = client
        self.ttl_s = int(ttl_s)
        self.prefix = prefix

    def bind(self, key: str, make: Callable[[], str]) -> str:
        name = self.prefix + key
        try:
            candidate = make()
            if self.client.set(name, candidate, nx=True, ex=self.ttl_s):
                return candidate
            current = self.client.get(name)
            self.client.expire(name, self.ttl_s)
        except redis.RedisError as e:
            raise ServiceUnavailable(f"cannot read session aliases from Redis: {e}",
                                     code="state_unavailable") from e
        return current.decode() if current is not None else candidate


class SessionIds:
    """Issues session ids and maps each request to the conversation it may continue."""

    def __init__(self, sessions: SessionStore, aliases: AliasStore) -> None:
        self.sessions = sessions
        self.aliases = aliases

    def _issued(self, session_id: str) -> bool:
        exists = getattr(self.sessions, "exists", None)
        return bool(exists(session_id)) if callable(exists) else self.sessions.load(session_id) is not None

    def resolve(self, requested: str | None, client: str) -> str:
        """The session id this message belongs to (see the module docstring)."""
        if requested is None:
            return new_session_id()
        if self._issued(requested):
            return requested
        return self.aliases.bind(alias_key(client, requested), new_session_id)
