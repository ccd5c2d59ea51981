"""Limits on guessing an order's phone digits, across sessions and clients.

A session that fails to verify an order counts against the order (all
sessions together) and against the client address the message came from,
in a sliding window. Past ``max_per_order`` failures the order is locked for
bot lookups until the window has passed; past ``max_per_client`` failures the
client can open no order at all. Rotating session ids therefore buys an
attacker nothing. ``RedisOrderGuard`` shares the counts between workers and
API nodes; ``InMemoryOrderGuard`` is the one-process fallback. Both take a
clock, so tests can move time.

The client address is not an argument of the dialogue engine: the API sets it
for the current request with ``client_scope(address)`` (a context variable, so
each request thread sees its own).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import redis

from dialog.errors import DialogError

_CLIENT: ContextVar[str | None] = ContextVar("yeban_client_address", default=None)


class OrderGuardError(DialogError):
    """The verification counters could not be read or written."""


@contextlib.contextmanager
def client_scope(address: str | None) -> Iterator[None]:
    """Attribute the verifications made inside the block to ``address``."""
    token = _CLIENT.set(address)
    try:
        yield
    finally:
        _CLIENT.reset(token)


def current_client() -> str | None:
    """The client address of the request being handled, if the API set one."""
    return _CLIENT.get()


@dataclass(frozen=True)
class GuardLimits:
    max_per_order: int = 5
    max_per_client: int = 20
    window_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_per_order < 1 or self.max_per_client < 1 or self.window_s <= 0:
            raise ValueError("order verification limits must be positive "
                             f"(per order {self.max_per_order}, per client {self.max_per_client}, "
                             f"window {self.window_s}s)")


class OrderGuard(Protocol):
    """Counts failed verifications; raises OrderGuardError when its store is unusable."""

    limits: GuardLimits

    def locked(self, order_id: str, client: str | None) -> bool:
        """True when the order, or this client, is past its limit in the current window."""
        ...

    def failed(self, order_id: str, client: str | None) -> bool:
        """Record one failure; True when it put the order or the client past the limit."""
        ...


def _digest(value: str) -> str:
    """Keys never hold an order number or an address in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class InMemoryOrderGuard:
    """Sliding-window failure counts in this process (one worker, tests)."""

    def __init__(self, limits: GuardLimits | None = None, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits or GuardLimits()
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def _count(self, key: str, now: float) -> int:
        stamps = [t for t in self._failures.get(key, []) if t > now - self.limits.window_s]
        if stamps:
            self._failures[key] = stamps
        else:
            self._failures.pop(key, None)
        return len(stamps)

    def locked(self, order_id: str, client: str | None) -> bool:
        now = self._clock()
        with self._lock:
            if self._count("o:" + order_id, now) >= self.limits.max_per_order:
                return True
            return client is not None and self._count("c:" + client, now) >= self.limits.max_per_client

    def failed(self, order_id: str, client: str | None) -> bool:
        now = self._clock()
        with self._lock:
            self._failures.setdefault("o:" + order_id, []).append(now)
            over = self._count("o:" + order_id, now) >= self.limits.max_per_order
            if client is not None:
                self._failures.setdefault("c:" + client, []).append(now)
                over = self._count("c:" + client, now) >= self.limits.max_per_client or over
            return over


class RedisOrderGuard:
    """Sliding-window failure counts in Redis sorted sets (score = time), shared by every worker and node."""

    def __init__(self, client: redis.Redis, limits: GuardLimits | None = None, prefix: str = "yeban:verify:",
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.limits = limits or GuardLimits()
        self.prefix = prefix
        self._clock = clock

    def _keys(self, order_id: str, client: str | None) -> list[tuple[str, int]]:
        keys = [(f"{self.prefix}o:{_digest(order_id)}", self.limits.max_per_order)]
        if client is not None:
            keys.append((f"{self.prefix}c:{_digest(client)}", self.limits.max_per_client))
        return keys

    def _counts(self, keys: list[tuple[str, int]], now: float, add: bool) -> list[int]:
        pipe = self.client.pipeline(transaction=True)
        for key, _ in keys:
            pipe.zremrangebyscore(key, "-inf", now - self.limits.window_s)
            if add:
                pipe.zadd(key, {uuid.uuid4().hex: now})
                pipe.expire(key, int(self.limits.window_s) + 1)
            pipe.zcard(key)
        try:
            results = pipe.execute()
        except redis.RedisError as e:
            raise OrderGuardError(f"cannot count order verifications in Redis: {e}") from e
        step = 4 if add else 2
        return [int(results[i * step + step - 1]) for i in range(len(keys))]

    def locked(self, order_id: str, client: str | None) -> bool:
        keys = self._keys(order_id, client)
        counts = self._counts(keys, self._clock(), add=False)
        return any(n >= limit for n, (_, limit) in zip(counts, keys, strict=True))

    def failed(self, order_id: str, client: str | None) -> bool:
        keys = self._keys(order_id, client)
        counts = self._counts(keys, self._clock(), add=True)
        return any(n >= limit for n, (_, limit) in zip(counts, keys, strict=True))
