"""Readiness checks behind ``/readyz``: each is a named probe that raises (or
returns a failure reason) when its dependency is not usable, bounded by a timeout.

Built in: ``neo4j`` (a ``RETURN 1`` over Bolt), ``engine`` (a chat engine is
wired) and the engine's own checks when it offers ``readiness() -> dict[str, str | None]``
(name -> None when fine, else the reason), e.g. the FAISS index and the models,
and ``readiness_notes() -> dict[str, str]`` for what it waits for while still
serving (a FAQ index rebuild): ``/readyz`` then answers 200 ``degraded``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import neo4j

from graph.driver import verify

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Degraded:
    """A probe's answer for "serving, but waiting for something" (``/readyz`` stays 200)."""

    detail: str


# Probe: returns None when fine, a short reason when failing, or Degraded; may raise.
Probe = Callable[[], "str | Degraded | None"]


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    probe: Probe


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    ok: bool
    detail: str | None = None
    degraded: bool = False


def neo4j_check(driver: neo4j.Driver, database: str) -> ReadinessCheck:
    def probe() -> str | None:
        verify(driver, database)  # RETURN 1; raises GraphUnavailableError
        return None

    return ReadinessCheck("neo4j", probe)


def engine_checks(engine: object | None) -> list[ReadinessCheck]:
    def wired() -> str | None:
        return None if engine is not None else "no chat engine is configured"

    checks = [ReadinessCheck("engine", wired)]
    own = getattr(engine, "readiness", None)
    if callable(own):
        def components() -> str | None:
            failing = {name: reason for name, reason in own().items() if reason}
            return "; ".join(f"{k}: {v}" for k, v in sorted(failing.items())) or None

        checks.append(ReadinessCheck("engine_components", components))
    notes = getattr(engine, "readiness_notes", None)
    if callable(notes):
        def waiting() -> Degraded | None:
            found = notes()
            return Degraded("; ".join(f"{k}: {v}" for k, v in sorted(found.items()))) if found else None

        checks.append(ReadinessCheck("engine_waiting", waiting))
    return checks


class ReadinessRunner:
    """Runs the checks in a small thread pool so one hung dependency cannot hang ``/readyz``."""

    def __init__(self, checks: list[ReadinessCheck], timeout_s: float = 2.0) -> None:
        self.checks = checks
        self.timeout_s = timeout_s
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
        return self._pool

    def run(self) -> list[CheckOutcome]:
        pool = self._executor()
        futures = [(check, pool.submit(check.probe)) for check in self.checks]
        outcomes = []
        for check, future in futures:
            try:
                reason = future.result(timeout=self.timeout_s)
                if isinstance(reason, Degraded):
                    outcomes.append(CheckOutcome(check.name, True, reason.detail, degraded=True))
                else:
                    outcomes.append(CheckOutcome(check.name, reason is None, reason))
            except FutureTimeout:
                outcomes.append(CheckOutcome(check.name, False, f"no answer within {self.timeout_s:g}s"))
            except Exception as e:  # noqa: BLE001 - any failure means "not ready", reported by name
                outcomes.append(CheckOutcome(check.name, False, " ".join(str(e).split()) or type(e).__name__))
        return outcomes

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
