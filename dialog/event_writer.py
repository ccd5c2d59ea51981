"""Write-behind for the event log: the chat request hands its event to a queue and a
background thread writes the queue to SQLite in batches (one transaction each).

Why: every ``/v1/chat`` records one event, and with several gunicorn workers and
threads on one SQLite file each insert waits for the file's single writer lock and
its WAL commit; measured, that was the largest share of a request after the encoder.
Analytics read the log minutes or days later, so they lose nothing by an event
arriving a fraction of a second late.

What it costs: events still queued when a worker is killed (``kill -9``; at most
``flush_every_s`` of traffic) are lost; a normal exit (``close`` or interpreter exit)
writes them. Reads and erasure in this process flush first, so a process always sees
its own events; another process sees them within ``flush_every_s``. When the queue is
full (the disk stalls) ``record`` writes synchronously rather than drop the event.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from datetime import datetime
from typing import Protocol

from schema.conversation import ConversationEvent

logger = logging.getLogger(__name__)


class BatchEventLog(Protocol):
    """What the writer needs of the log it wraps (``dialog.events.SqliteEventLog``)."""

    def record_many(self, events: list[ConversationEvent]) -> None: ...

    def events(self, start: datetime | None = None, end: datetime | None = None) -> list[ConversationEvent]: ...

    def delete_for_session(self, session_id: str) -> int: ...

    def last_event_at(self, session_id: str) -> datetime | None: ...

    def count(self) -> int: ...

    def purge_expired(self) -> int: ...


class WriteBehindEventLog:
    """``dialog.ports.EventLog`` over a log with ``record_many``: records are queued, written in
    batches by one thread per process (started lazily, so it also exists after ``fork``)."""

    def __init__(self, log: BatchEventLog, flush_every_s: float = 0.25, max_queue: int = 10_000, max_batch: int = 500) -> None:
        if flush_every_s <= 0:
            raise ValueError(f"flush_every_s must be positive, not {flush_every_s}")
        self.log = log
        self.flush_every_s = flush_every_s
        self.max_queue = max_queue
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[ConversationEvent] = queue.Queue(max_queue)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- EventLog --------------------------------------------------------------------------
    def record(self, event: ConversationEvent) -> None:
        if self._closed:
            self.log.record_many([event])
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            logger.warning("event queue full (%d): writing synchronously", self.max_queue)
            self.log.record_many([event])

    def events(self, start: datetime | None = None, end: datetime | None = None) -> list[ConversationEvent]:
        self.flush()
        return self.log.events(start, end)

    def delete_for_session(self, session_id: str) -> int:
        self.flush()
        return self.log.delete_for_session(session_id)

    def last_event_at(self, session_id: str) -> datetime | None:
        self.flush()
        return self.log.last_event_at(session_id)

    def count(self) -> int:
        self.flush()
        return self.log.count()

    def purge_expired(self) -> int:
        self.flush()
        return self.log.purge_expired()

    # --- writing ----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything queued so far (in this thread, under the writer's lock)."""
        if self._pid == os.getpid():
            with self._lock:
                self._drain()

    def close(self) -> None:
        """Stop the thread and write what is left; later records are written synchronously."""
        self._stop.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=10)
        self.flush()
        self._closed = True

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid() or self._closed:
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            # First record in this process (or the first after a fork: the parent's thread and
            # queue are not ours).
            self._queue = queue.Queue(self.max_queue)
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
            self._pid = os.getpid()
            self._thread.start()
            atexit.register(self.flush)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_every_s):
            try:
                with self._lock:
                    self._drain()
            except Exception:  # the writer must outlive one bad write
                logger.exception("event writer: a batch could not be written")

    def _drain(self) -> None:
        while True:
            batch: list[ConversationEvent] = []
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not batch:
                return
            self.log.record_many(batch)
