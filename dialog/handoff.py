"""Building hand-off tickets: the transcript, the reason and three suggested
replies for the agent, drawn from the FAQ, the graph and the policies; and the
note a shopper asking for a person gets with the hand-off: when a person is
available and who handles an escalation, in the store's own words (its FAQ or
clauses) or, for the hours, the configured agent hours (``HandoffNotes``)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from neo4j import exceptions as neo4j_exc

from dialog.errors import DialogError
from dialog.policies.base import Knowledge, Searcher, TextCache
from graph.errors import GraphError
from retrieval.errors import RetrievalError
from schema.conversation import ChatReply, HandoffTicket, SessionContext
from schema.types import EntityLink, Source

logger = logging.getLogger(__name__)

# Suggestions are best effort: the ticket must be created even if a source is down.
_SOURCE_DOWN = (RetrievalError, GraphError, neo4j_exc.DriverError, neo4j_exc.Neo4jError, OSError)


NOTES_PATH = Path(__file__).with_name("handoff_notes.json")
_NOTE_KEYS = ("asks_hours", "asks_escalation", "states_agent", "states_hours", "states_escalation")
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
NOTE_CANDIDATES = 8


class AgentHours(Protocol):
    def is_open(self, now: datetime) -> bool: ...

    def reply_time_message(self, now: datetime) -> str: ...


class HandoffNotesError(DialogError):
    """``handoff_notes.json`` is missing, malformed or lacks a cue list."""


@dataclass(frozen=True)
class Note:
    text: str
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class HandoffNotes:
    """What a hand-off reply adds for a shopper who asks when a person is there, or for someone higher up.

    >>> notes = HandoffNotes.load()
    >>> notes.note("几点有人工", searcher, cache, hours_sentence="人工客服在线时间是每天 09:00-22:00。")
    """

    cues: dict[str, re.Pattern[str]]

    @classmethod
    def load(cls, path: Path = NOTES_PATH) -> HandoffNotes:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            cues = {k: re.compile("|".join(f"(?:{w})" for w in raw[k])) for k in _NOTE_KEYS if raw[k]}
        except (OSError, json.JSONDecodeError, KeyError, TypeError, re.error) as e:
            raise HandoffNotesError(f"{path}: not a hand-off notes file: {e}") from e
        missing = [k for k in _NOTE_KEYS if k not in cues]
        if missing:
            raise HandoffNotesError(f"{path}: {missing} need a non-empty list of patterns")
        return cls(cues)

    def note(self, text: str, searcher: Searcher, cache: TextCache,
             hours_sentence: str | None = None) -> Note | None:
        """The store's sentences on agent hours or escalation the message asks about, best match first.

        Hours: an FAQ answer or clause in force naming agents and a time of day, else the
        sentence on the configured hours; escalation: one naming agents and someone higher up. None
        when the message asks neither, or (escalation) the store says nothing about it.
        """
        wants = [k for k in ("hours", "escalation") if self.cues[f"asks_{k}"].search(text)]
        if not wants:
            return None
        try:
            hits = searcher.search(text, k=NOTE_CANDIDATES)
            clause_hits = searcher.search_clauses(text, k=NOTE_CANDIDATES, allowed_clause_ids=set(cache.clauses) or None)
        except _SOURCE_DOWN:
            logger.warning("FAQ search failed while building the hand-off note", exc_info=True)
            hits, clause_hits = [], []
        texts: list[tuple[float, str, Source]] = [
            (h.score, cache.faq[h.id].answer, Source("faq", h.id)) for h in hits if h.id in cache.faq]
        texts += [(h.score, cache.clauses[h.id].text, Source("clause", h.id)) for h in clause_hits
                  if h.id in cache.clauses]
        texts.sort(key=lambda t: -t[0])
        said: list[str] = []
        sources: list[Source] = []
        for kind in wants:
            found = next(((t, src) for _, t, src in texts
                          if self.cues["states_agent"].search(t) and self.cues[f"states_{kind}"].search(t)), None)
            if found is not None:
                sentences = [x.strip() for x in _SENTENCE.findall(found[0])
                             if self.cues[f"states_{kind}"].search(x)] or [found[0]]
                said += [x for x in sentences if x not in said]
                sources.append(found[1])
            elif kind == "hours" and hours_sentence:
                said.append(hours_sentence)
        return Note("".join(said), tuple(dict.fromkeys(sources))) if said else None


def suggested_replies(text: str, ctx: SessionContext, searcher: Searcher, cache: TextCache,
                      knowledge: Knowledge | None, now: datetime) -> list[str]:
    """Up to three replies an agent can send as they are, each from the store's data."""
    suggestions: list[str] = []
    try:
        hits = searcher.search(text, k=3)
    except _SOURCE_DOWN:
        logger.warning("FAQ search failed while building hand-off suggestions", exc_info=True)
        hits = []
    if hits and hits[0].id in cache.faq:
        suggestions.append(cache.faq[hits[0].id].answer)
    if ctx.last_product_id and knowledge is not None:
        try:
            product = knowledge.product(ctx.last_product_id)
            if product is not None:
                price = f"¥{product.price:g}" if product.price is not None else ""
                suggestions.append(f"亲，您咨询的是「{product.display_name}」{price}，我来帮您核实处理。")
        except _SOURCE_DOWN:
            logger.warning("graph unavailable while building hand-off suggestions", exc_info=True)
    try:
        clause_hits = searcher.search_clauses(text, k=1, allowed_clause_ids=set(cache.clauses) or None)
    except _SOURCE_DOWN:
        clause_hits = []
    if clause_hits and clause_hits[0].id in cache.clauses:
        clause = cache.clauses[clause_hits[0].id]
        suggestions.append(f"根据「{clause.policy_title}」：{clause.text}")
    for hit in hits[1:]:
        if len(suggestions) >= 3:
            break
        if hit.id in cache.faq and cache.faq[hit.id].answer not in suggestions:
            suggestions.append(cache.faq[hit.id].answer)
    if not suggestions:
        suggestions.append("非常抱歉给您带来不便，我是人工客服，请问具体遇到了什么问题呢？")
    return suggestions[:3]


def new_ticket(ctx: SessionContext, reason: str, intent: str | None, entities: list[EntityLink],
               suggestions: list[str], now: datetime) -> HandoffTicket:
    return HandoffTicket(
        ticket_id=uuid.uuid4().hex[:12],
        session_id=ctx.session_id,
        reason=reason,
        intent=intent,
        entities=[ChatReply.entity_dict(e) for e in entities],
        transcript=list(ctx.history),
        suggested_replies=suggestions,
        created_at=now,
    )
