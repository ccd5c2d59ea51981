"""One place that wires the parts: ``build_runtime(settings)`` creates the Neo4j
driver, the models (encoder, intent classifier, emotion scorer), the entity
linker, the FAQ index, the stores and the dialogue engine once per process.

The WSGI app, the CLIs, the notebooks and the tests all go through it; a caller
may hand in any part it already has (a driver, loaded models, Redis-backed
stores, a clock) and the rest is built here. Everything heavy happens here and
only here; components never create a driver or load a model themselves.

>>> runtime = build_runtime(load_settings())
>>> runtime.engine.chat("s1", "红色L码还有几件").reply
>>> runtime.close()
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import neo4j

from dialog.agent_hours import AgentHours
from dialog.engine import DialogEngine, EngineParts
from dialog.policies.base import TextCache
from dialog.ports import EventLog, HandoffQueue, SessionStore
from dialog.templates import Templates
from dialog.watcher import KnowledgeWatcher
from graph.knowledge import GraphKnowledge
from graph.orders import GraphOrderService
from schema.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What ``build_runtime`` assembled; ``close()`` releases what it created."""

    settings: Settings
    driver: neo4j.Driver
    engine: DialogEngine
    knowledge: GraphKnowledge
    encoder: Any
    classifier: Any
    emotion: Any
    sessions: SessionStore
    handoffs: HandoffQueue
    events: EventLog
    owns_driver: bool = False
    _closers: list[Callable[[], object]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()
        if self.owns_driver:
            self.driver.close()
            self.owns_driver = False


def build_runtime(
    settings: Settings,
    *,
    driver: neo4j.Driver | None = None,
    sessions: SessionStore | None = None,
    handoffs: HandoffQueue | None = None,
    events: EventLog | None = None,
    agent_hours: AgentHours | None = None,
    encoder=None,
    classifier=None,
    emotion=None,
    clock: Callable[[], datetime] | None = None,
    order_guard=None,
) -> Runtime:
    """Assemble the dialogue runtime; parts passed in are used as they are.

    Without ``sessions``/``handoffs``/``events`` the stores are in-process and the
    event log is ``settings.events_db`` (a CLI or a notebook; the API passes its
    Redis-backed stores). Raises ``graph.errors.GraphError`` when the graph cannot be
    read at start-up (the linker's dictionary comes from it),
    ``retrieval.errors.RetrievalError`` when a model or the FAQ index is missing and
    ``dialog.routing.RoutingError`` when the routing data is invalid.
    """
    from dialog.events import SqliteEventLog
    from dialog.factory import build_shopping_guide
    from dialog.handoff_queue import InMemoryHandoffQueue
    from dialog.session_store import InMemorySessionStore
    from graph.driver import create_driver
    from ingest.pipeline import IndexFollower
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
    owns_driver = driver is None
    if driver is None:
        driver = create_driver(settings)
    closers: list[Callable[[], object]] = []
    try:
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
        if sessions is None:
            sessions = InMemorySessionStore(settings.session_ttl_s, settings.session_max_history)
        if handoffs is None:
            handoffs = InMemoryHandoffQueue()
        if events is None:
            sqlite_events = SqliteEventLog(settings.events_db)
            closers.append(getattr(sqlite_events, "close", lambda: None))
            events = sqlite_events
        if agent_hours is None:
            agent_hours = AgentHours.parse(settings.agent_hours, settings.agent_timezone)
        parts = EngineParts(
            classifier=classifier, linker=linker, emotion=emotion, knowledge=knowledge, searcher=searcher,
            orders=GraphOrderService(driver, settings.neo4j_database, settings.phone_hash_salt.get_secret_value()),
            sessions=sessions, handoffs=handoffs, events=events, agent_hours=agent_hours,
            cache=TextCache(), templates=Templates(),
            order_guard=order_guard, verified_order_ttl_s=settings.order_verified_ttl_s,
        )
        engine = DialogEngine(parts, clock=clock)
        engine.shopping = build_shopping_guide(settings, driver, knowledge, searcher, parts.cache)
        watcher = KnowledgeWatcher(engine, knowledge, linker)
        watcher.sync(force=True)
        engine.watcher = watcher
        engine.index_builder = IndexFollower(driver, settings, encoder)
        engine.index_keeper = _index_keeper(settings, searcher.index, parts.cache, engine.index_builder)
    except BaseException:
        for close in closers:
            close()
        if owns_driver:
            driver.close()
        raise
    logger.info("dialogue runtime ready (knowledge version %s)", watcher.version)
    return Runtime(settings=settings, driver=driver, engine=engine, knowledge=knowledge, encoder=encoder,
                   classifier=classifier, emotion=emotion, sessions=sessions, handoffs=handoffs, events=events,
                   owns_driver=owns_driver, _closers=closers)


def _index_keeper(settings: Settings, index, cache: TextCache, rebuild):
    from retrieval.index_sync import IndexKeeper

    return IndexKeeper(index, lambda: (list(cache.faq.values()), list(cache.clauses.values())),
                       rebuild=rebuild, grace_s=settings.index_stale_grace_s)
