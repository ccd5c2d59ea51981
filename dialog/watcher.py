"""Keep the entity linker and the cached texts in step with the graph's knowledge version."""

from __future__ import annotations

import logging
import threading
import time

from neo4j import exceptions as neo4j_exc

from graph.errors import GraphError
from graph.knowledge import GraphKnowledge

logger = logging.getLogger(__name__)

_GRAPH_DOWN = (GraphError, neo4j_exc.DriverError, neo4j_exc.Neo4jError, OSError)


class KnowledgeWatcher:
    """Keeps the linker's dictionary and the cached texts in step with the graph.

    Checks the graph's knowledge version at most every ``interval_s`` seconds
    (one indexed lookup); on a change it rebuilds the linker from the new
    lexicon and reloads the FAQ and clause texts. The FAQ index follows on its
    own (``VectorIndex.refresh_if_changed``).
    """

    def __init__(self, engine, knowledge: GraphKnowledge, linker, interval_s: float = 5.0) -> None:
        self.engine = engine
        self.knowledge = knowledge
        self.linker = linker
        self.interval_s = interval_s
        self.version: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def sync(self, force: bool = False) -> bool:
        """Reload if the graph changed; True when something was reloaded."""
        now = time.monotonic()
        if not force and now - self._checked < self.interval_s:
            return False
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._checked = now
            try:
                version = self.knowledge.knowledge_version()
            except _GRAPH_DOWN as e:
                logger.warning("cannot read the knowledge version (graph down?): %s", e)
                return False
            if version == self.version and not force:
                return False
            lexicon = self.knowledge.catalog_lexicon()
            self.linker.rebuild(lexicon)
            self.engine.refresh_texts(lexicon)
            logger.info("knowledge version %s -> %s: linker and texts reloaded", self.version, version)
            self.version = version
            return True
        finally:
            self._lock.release()
