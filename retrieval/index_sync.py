"""Keeping a worker's FAQ index in step with the FAQ and clause texts it serves.

Owns: deciding whether the loaded index matches the texts (by *content*, not by
the graph's knowledge version, so a stock or price load never makes it stale),
picking up a version another process built, starting a rebuild when the texts
changed, and what ``/readyz`` says meanwhile.

The texts come from the engine's cache, which the knowledge watcher reloads
from the graph whenever the knowledge version moves. A rebuild reads the graph
itself and runs under the index's build lock, so of several workers that
notice the same change one embeds and the others find the index up to date.

Readiness while the index lags the texts: ``degraded`` (HTTP 200; the old index
still answers every question it answered before) for ``grace_s`` seconds, then
``stale`` (503: nobody rebuilt it, or the rebuild keeps failing).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.errors import RetrievalError
from retrieval.index_build import collect_items
from retrieval.vector_index import IndexItem, VectorIndex
from schema.types import ClauseInfo, FAQInfo

logger = logging.getLogger(__name__)

Texts = Callable[[], tuple[Sequence[FAQInfo], Sequence[ClauseInfo]]]


def content_fingerprint(items: Sequence[IndexItem]) -> str:
    """A digest of what an index holds (kind, id and text of every row, in order)."""
    digest = hashlib.sha256()
    for it in items:
        digest.update(f"{it.kind}\t{it.id}\t{it.text_hash}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class IndexFreshness:
    """``state``: ``fresh``, ``degraded`` (waiting for a rebuild, still serving) or ``stale``."""

    state: str
    detail: str | None = None


class IndexKeeper:
    """Compares the loaded index with the served texts; rebuilds in the background when they differ.

    ``rebuild`` builds a new index version from the graph (``ingest.pipeline.IndexFollower``);
    without it the keeper only waits for another process to build one.
    """

    def __init__(self, index: VectorIndex, texts: Texts, rebuild: Callable[[], object] | None = None,
                 grace_s: float = 120.0) -> None:
        self.index = index
        self.texts = texts
        self.rebuild = rebuild
        self.grace_s = grace_s
        self._stale_since: float | None = None
        self._building: threading.Thread | None = None
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # --- state --------------------------------------------------------------------------
    def freshness(self) -> IndexFreshness:
        """Pick up a newer index version, compare it with the texts, start a rebuild if needed."""
        self.index.refresh_if_changed()
        try:
            snap = self.index.snapshot()
        except RetrievalError as e:
            return IndexFreshness("stale", str(e))
        faqs, clauses = self.texts()
        wanted = collect_items(faqs, clauses)
        if content_fingerprint(wanted) == content_fingerprint(snap.items):
            self._stale_since, self._last_error = None, None
            return IndexFreshness("fresh")
        now = time.monotonic()
        if self._stale_since is None:
            self._stale_since = now
            logger.warning("FAQ index %s differs from the served FAQ/policy texts: rebuilding", snap.version)
        self._start_rebuild()
        have = {(it.kind, it.id, it.text_hash) for it in snap.items}
        need = {(it.kind, it.id, it.text_hash) for it in wanted}
        changed = len(have ^ need)
        waited = now - self._stale_since
        detail = (f"waiting for the FAQ index rebuild: {changed} FAQ/policy text row(s) differ from index "
                  f"{snap.version} for {waited:.0f}s")
        if self._last_error:
            detail += f"; last rebuild failed: {self._last_error}"
        return IndexFreshness("degraded" if waited < self.grace_s else "stale", detail)

    def _start_rebuild(self) -> None:
        if self.rebuild is None or (self._building is not None and self._building.is_alive()):
            return
        self._building = threading.Thread(target=self._rebuild, name="index-rebuild", daemon=True)
        self._building.start()

    def _rebuild(self) -> None:
        try:
            assert self.rebuild is not None
            self.rebuild()
            self.index.refresh_if_changed()
            self._last_error = None
        except Exception as e:
            self._last_error = " ".join(str(e).split()) or type(e).__name__
            logger.exception("FAQ index rebuild failed")

    def wait_idle(self, timeout_s: float = 300.0) -> None:
        """Block until a running rebuild ends (for CLIs and tests)."""
        if self._building is not None:
            self._building.join(timeout_s)

    # --- background ------------------------------------------------------------------------
    def start(self, sync: Callable[[], object] | None = None, interval_s: float = 10.0) -> None:
        """Every ``interval_s``: ``sync()`` (reload texts when the graph moved), then ``freshness()``.

        So an idle worker too serves a rebuilt index within ``interval_s`` plus the build time.
        """
        if self._ticker is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    if sync is not None:
                        sync()
                    self.freshness()
                except Exception:
                    logger.exception("index keeper tick failed")

        self._ticker = threading.Thread(target=loop, name="index-keeper", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
