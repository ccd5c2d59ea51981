"""Fail fast while Neo4j is down: a circuit breaker shared by every reader of one driver.

Why: when the server is gone each read waits for the driver's connection attempts and
transaction retries (one to three seconds), and a chat turn makes several reads, so a
shopper waited 10-17 s for the degraded answer under load. After a read fails because
the server is unreachable, reads on that driver fail at once with
``GraphUnavailableError`` for ``open_s`` seconds; then the next read tries the server
again (half-open) and a success closes the breaker. Query errors (bad Cypher, a
constraint) say nothing about the server and never open it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import neo4j
from neo4j import exceptions as neo4j_exc

from graph.errors import GraphUnavailableError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# What says the server is unreachable (not that one query was wrong).
UNREACHABLE = (neo4j_exc.ServiceUnavailable, neo4j_exc.SessionExpired, OSError)
DEFAULT_OPEN_S = 2.0


class GraphBreaker:
    """Open for ``open_s`` seconds after a failure that says the server is unreachable."""

    def __init__(self, open_s: float = DEFAULT_OPEN_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.open_s = open_s
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._reason = ""

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def call(self, read: Callable[[], T]) -> T:
        if self.is_open:
            raise GraphUnavailableError(f"Neo4j is unavailable (failing fast after: {self._reason})")
        try:
            result = read()
        except UNREACHABLE as e:
            with self._lock:
                if not self.is_open:
                    logger.warning("Neo4j unreachable, failing fast for %.1f s: %s", self.open_s,
                                   " ".join(str(e).split())[:200])
                self._open_until = self._clock() + self.open_s
                self._reason = " ".join(str(e).split())[:200] or type(e).__name__
            raise
        if self._open_until:
            with self._lock:
                if self._open_until and not self.is_open:
                    logger.info("Neo4j reachable again")
                    self._open_until = 0.0
        return result


_BREAKERS: weakref.WeakKeyDictionary[neo4j.Driver, GraphBreaker] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def breaker_for(driver: neo4j.Driver) -> GraphBreaker:
    """The breaker of ``driver`` (one per driver, so every reader of it sees the same state)."""
    with _REGISTRY_LOCK:
        breaker = _BREAKERS.get(driver)
        if breaker is None:
            breaker = _BREAKERS[driver] = GraphBreaker()
        return breaker
