"""Server-sent events that read shared state (Redis), not process memory.

A stream is a loop: every ``poll_s`` it takes a snapshot through a callable
(which reads the session store or the hand-off queue, both in Redis when the
API runs with several gunicorn workers), and sends an event only when the
snapshot differs from the last one sent. So a ticket created by worker A
reaches a console whose stream is served by worker B within one poll.

A response lasts at most ``max_s`` (the browser reconnects), and each worker
serves at most ``max_streams`` at once, because every open stream holds one
gunicorn thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

Snapshot = Callable[[], list[tuple[str, Any]]]


def format_event(event: str, data: Any) -> str:
    """One SSE frame: ``event:`` and a single-line JSON ``data:``."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {payload}\n\n"


class StreamLimit:
    """Counts this worker's open streams; ``acquire`` refuses beyond the cap."""

    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self._open = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self._open >= self.max_streams:
                return False
            self._open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._open = max(0, self._open - 1)

    @property
    def open(self) -> int:
        return self._open


@dataclass(frozen=True)
class StreamTiming:
    poll_s: float = 1.0
    max_s: float = 25.0
    heartbeat_s: float = 10.0


def changes(snapshot: Snapshot, timing: StreamTiming, *, limit: StreamLimit | None = None,
            sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic) -> Iterator[str]:
    """SSE frames: each named part of the snapshot whenever it changed, comments as heartbeats.

    ``snapshot()`` returns ``[(event_name, data), ...]``; a part is sent on the first poll
    and then whenever its JSON differs from what was last sent under that name. The
    stream ends with a ``bye`` event after ``timing.max_s``; ``limit`` is released then
    (also when the client goes away and the server closes the generator).
    """
    last: dict[str, str] = {}
    started = last_sent = clock()
    try:
        yield f"retry: {int(timing.poll_s * 1000) + 500}\n\n"
        while True:
            for name, data in snapshot():
                frame = format_event(name, data)
                if last.get(name) != frame:
                    last[name] = frame
                    last_sent = clock()
                    yield frame
            now = clock()
            if now - started >= timing.max_s:
                yield format_event("bye", {"reconnect": True})
                return
            if now - last_sent >= timing.heartbeat_s:
                last_sent = now
                yield ": keep-alive\n\n"
            sleep(timing.poll_s)
    finally:
        if limit is not None:
            limit.release()
