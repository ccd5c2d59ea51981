"""Token-bucket rate limits for the public chat endpoint.

``RedisTokenBucket`` keeps each bucket in a Redis hash updated by one Lua
script (Redis' own clock), so a limit holds across all gunicorn workers;
``InMemoryTokenBucket`` serves a single process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0


class RateLimiter(Protocol):
    def hit(self, key: str) -> Decision:
        """Take one token from ``key``'s bucket."""


class InMemoryTokenBucket:
    """Buckets in a dict; ``capacity`` tokens, refilled at ``rate_per_s``."""

    def __init__(self, capacity: int, rate_per_s: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if capacity < 1 or rate_per_s <= 0:
            raise ValueError("capacity must be >= 1 and rate_per_s > 0")
        self.capacity = capacity
        self.rate = rate_per_s
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    def hit(self, key: str) -> Decision:
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(self.capacity, tokens + max(0.0, now - updated) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                decision = Decision(True)
            else:
                self._buckets[key] = (tokens, now)
                decision = Decision(False, (1 - tokens) / self.rate)
            if len(self._buckets) > self._max_keys:
                self._drop_full(now)
        return decision

    def _drop_full(self, now: float) -> None:
        """Forget buckets that have refilled completely (the lock is held)."""
        for key in [k for k, (t, u) in self._buckets.items() if t + (now - u) * self.rate >= self.capacity]:
            del self._buckets[key]


_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(retry)}
"""


class RedisTokenBucket:
    """Buckets as Redis hashes ``<prefix><key>`` updated atomically by a Lua script."""

    def __init__(self, client: redis.Redis, capacity: int, rate_per_s: float,
                 prefix: str = "yeban:rate:") -> None:
        if capacity < 1 or rate_per_s <= 0:
            raise ValueError("capacity must be >= 1 and rate_per_s > 0")
        self.capacity = capacity
        self.rate = rate_per_s
        self.prefix = prefix
        self._script = client.register_script(_LUA)

    def hit(self, key: str) -> Decision:
        allowed, retry = self._script(keys=[self.prefix + key], args=[self.capacity, self.rate])
        return Decision(bool(int(allowed)), float(retry))
