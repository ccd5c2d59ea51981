"""Build the real dialogue engine once per process (API worker, CLI, notebook).

Everything heavy happens here and only here: the encoder and classifier are
loaded, the entity linker's dictionary is built from the graph, the FAQ index
is opened, and the FAQ and clause texts are cached. Components receive what
they need; none of them creates a driver or loads a model on its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

import neo4j
from neo4j import exceptions as neo4j_exc

from dialog.engine import DialogEngine, EngineParts
from dialog.handoff import AgentHours
from dialog.order_guard import OrderGuard
from dialog.policies.base import TextCache
from dialog.ports import EventLog, HandoffQueue, SessionStore
from dialog.templates import Templates
from graph.errors import GraphError
from graph.knowledge import GraphKnowledge
from graph.orders import GraphOrderService
from schema.settings import Settings

logger = logging.getLogger(__name__)

_GRAPH_DOWN = (GraphError, neo4j_exc.DriverError, neo4j_exc.Neo4jError, OSError)


class KnowledgeWatcher:
    """Keeps the linker's dictionary and the cached texts in step with the graph.

    Checks the graph's knowledge version at most every ``interval_s`` seconds
    (one indexed lookup); on a change it rebuilds the linker from the new
    lexicon and reloads the FAQ and clause texts. The FAQ index follows on its
    own (``VectorIndex.refresh_if_changed``).
    """

    def __init__(self, engine: DialogEngine, knowledge: GraphKnowledge, linker, interval_s: float = 5.0) -> None:
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
            self.linker.rebuild(self.knowledge.catalog_lexicon())
            self.engine.refresh_texts()
            logger.info("knowledge version %s -> %s: linker and texts reloaded", self.version, version)
            self.version = version
            return True
        finally:
            self._lock.release()


def build_shopping_guide(settings: Settings, driver: neo4j.Driver, knowledge: GraphKnowledge, searcher,
                         cache: TextCache):
    """Search, comparison and help to buy over the graph and the product documents of the index.

    Raises ``dialog.policies.catalog_view.UrlTemplateError`` for a bad ``YEBAN_PRODUCT_URL_TEMPLATE``.
    """
    from dialog.policies.catalog_view import ProductLinks
    from dialog.policies.shopping import ShoppingGuide
    from graph.search import ProductSearch
    from retrieval.faq_search import FAQSearcher
    from retrieval.index_build import product_index_dir
    from retrieval.keyword import KeywordIndex
    from retrieval.tokenize import Tokenizer
    from retrieval.vector_index import VectorIndex

    ranker = FAQSearcher(VectorIndex(product_index_dir(settings.index_dir)), KeywordIndex(Tokenizer()),
                         searcher.encoder)
    return ShoppingGuide(knowledge, ProductSearch(driver, settings.neo4j_database), ranker, cache,
                         ProductLinks(settings.product_url_template))


def build_engine(
    settings: Settings,
    driver: neo4j.Driver,
    *,
    sessions: SessionStore,
    handoffs: HandoffQueue,
    events: EventLog,
    agent_hours: AgentHours,
    encoder=None,
    classifier=None,
    emotion=None,
    clock: Callable[[], datetime] | None = None,
    order_guard: OrderGuard | None = None,
) -> DialogEngine:
    """Wire the real components; pass ``encoder``/``classifier``/``emotion`` to share loaded models.

    Raises ``graph.errors.GraphError`` when the graph cannot be read at start-up
    (the linker's dictionary comes from it) and ``retrieval.errors.RetrievalError``
    when a model or the FAQ index is missing.
    """
    from retrieval.emotion import EmotionScorer
    from retrieval.encoder import encoder_from_settings
    from retrieval.entity_linking import EntityLinker
    from retrieval.faq_search import FAQSearcher
    from retrieval.intent import load_or_train
    from retrieval.keyword import KeywordIndex
    from retrieval.models import ensure_offline_env
    from retrieval.tokenize import Tokenizer
    from retrieval.vector_index import VectorIndex

    ensure_offline_env(settings)
    if encoder is None:
        encoder = encoder_from_settings(settings)
        encoder.warm_up()
    knowledge = GraphKnowledge(driver, settings.neo4j_database)
    if classifier is None:
        classifier = load_or_train(settings, encoder)
    if emotion is None:
        emotion = EmotionScorer.load_or_train(settings, encoder)
    linker = EntityLinker.from_settings(knowledge.catalog_lexicon(), settings)
    linker.warm_up()
    searcher = FAQSearcher(VectorIndex(settings.index_dir), KeywordIndex(Tokenizer()), encoder)
    searcher.warm_up()
    parts = EngineParts(
        classifier=classifier,
        linker=linker,
        emotion=emotion,
        knowledge=knowledge,
        searcher=searcher,
        orders=GraphOrderService(driver, settings.neo4j_database,
                                 settings.phone_hash_salt.get_secret_value()),
        sessions=sessions,
        handoffs=handoffs,
        events=events,
        agent_hours=agent_hours,
        cache=TextCache(),
        templates=Templates(),
        order_guard=order_guard,
        verified_order_ttl_s=settings.order_verified_ttl_s,
    )
    engine = DialogEngine(parts, clock=clock)
    engine.shopping = build_shopping_guide(settings, driver, knowledge, searcher, parts.cache)
    watcher = KnowledgeWatcher(engine, knowledge, linker)
    watcher.sync(force=True)
    engine.watcher = watcher
    from ingest.pipeline import IndexFollower

    engine.index_builder = IndexFollower(driver, settings, encoder)
    engine.index_keeper = _index_keeper(settings, searcher.index, parts.cache, engine.index_builder)
    return engine


def _index_keeper(settings: Settings, index, cache: TextCache, rebuild):
    from retrieval.index_sync import IndexKeeper

    return IndexKeeper(index, lambda: (list(cache.faq.values()), list(cache.clauses.values())),
                       rebuild=rebuild, grace_s=settings.index_stale_grace_s)
