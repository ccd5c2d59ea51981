"""Compatibility entry point: ``build_engine`` returns the engine that
``dialog.runtime.build_runtime`` assembles around a driver the caller owns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import neo4j

from dialog.engine import DialogEngine
from dialog.handoff import AgentHours
from dialog.policies.base import TextCache
from dialog.ports import EventLog, HandoffQueue, SessionStore
from dialog.watcher import KnowledgeWatcher
from graph.knowledge import GraphKnowledge
from schema.settings import Settings

__all__ = ["KnowledgeWatcher", "build_engine", "build_shopping_guide"]


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
    order_guard=None,
) -> DialogEngine:
    """The engine of ``build_runtime(settings, driver=driver, ...)``; the caller keeps owning ``driver``."""
    from dialog.runtime import build_runtime

    return build_runtime(settings, driver=driver, sessions=sessions, handoffs=handoffs, events=events,
                         agent_hours=agent_hours, encoder=encoder, classifier=classifier, emotion=emotion,
                         clock=clock, order_guard=order_guard).engine
