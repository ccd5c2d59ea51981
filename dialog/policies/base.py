"""What every answering policy receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dialog.templates import Templates
from schema.conversation import SessionContext
from schema.services import KnowledgeSource
from schema.types import ClauseInfo, FAQInfo, ProductInfo, RetrievalHit, Source

# The graph read API the policies use (``graph.knowledge.GraphKnowledge``).
Knowledge = KnowledgeSource


class Searcher(Protocol):
    """Hybrid FAQ and clause retrieval (``retrieval`` package)."""

    def search(self, query: str, k: int = 5) -> list[RetrievalHit]: ...

    def decide(self, hits: list[RetrievalHit]) -> Any: ...

    def search_clauses(self, query: str, k: int = 3,
                       allowed_clause_ids: set[str] | None = None) -> list[RetrievalHit]: ...


@dataclass
class PolicyResult:
    reply: str
    trigger: str
    sources: list[Source] = field(default_factory=list)
    resolved: bool = False
    fallback: bool = False
    suggestions: list[str] | None = None
    handoff_reason: str | None = None
    actions: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    # The intent the answer is about when the answer re-reads the classified one (ranker.answer_topic).
    topic: str | None = None


@dataclass
class TextCache:
    """FAQ and clause texts held in memory so policy and FAQ answers survive a Neo4j outage."""

    faq: dict[str, FAQInfo] = field(default_factory=dict)
    clauses: dict[str, ClauseInfo] = field(default_factory=dict)
    # The catalogue's products (names, brands, categories, prices): sibling moves and
    # fragment answers compare against them without a query per message.
    products: dict[str, ProductInfo] = field(default_factory=dict)
    version: Any = None


@dataclass
class PolicyContext:
    """Per-message inputs shared by the policies."""

    context: SessionContext
    templates: Templates
    now: datetime

    @property
    def seed(self) -> str:
        return f"{self.context.session_id}:{len(self.context.history)}"

    def say(self, key: str, **slots: object) -> str:
        return self.templates.render(key, self.seed, **slots)
