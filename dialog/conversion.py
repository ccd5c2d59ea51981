"""Leads, conversions and the night-shift figures a store owner buys this for.

A session is a *lead* when the shopper discussed a product (search, price,
stock, size, promotion: events with ``product_ids``). An order loaded later is
attributed to the latest session it follows within the window (default 72 h)
that has the same ``user_id``, or that verified an order with the same phone
hash; that session is *converted*. ``ConversionTracker.on_change`` is the
hook for order loads and change-set applies.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from dialog.outcomes import Conversion, Rating
from dialog.response_times import HumanReplyFigures, human_reply_figures, percentile
from schema.conversation import ConversationEvent, HandoffTicket

logger = logging.getLogger(__name__)

STORE_TZ = "Asia/Shanghai"
NIGHT_START_HOUR, NIGHT_END_HOUR = 22, 8
REPEAT_SIMILARITY = 0.7  # character-bigram Jaccard at which a message repeats an earlier one


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_night(hour: int) -> bool:
    return hour >= NIGHT_START_HOUR or hour < NIGHT_END_HOUR


@dataclass
class SessionFacts:
    session_id: str
    first_at: datetime
    last_at: datetime
    user_id: str | None = None
    products: list[str] = field(default_factory=list)
    verified_orders: list[str] = field(default_factory=list)
    handed_off: bool = False
    messages: list[str] = field(default_factory=list)
    first_latency_ms: float | None = None

    @property
    def lead(self) -> bool:
        return bool(self.products)


def sessions_from_events(events: Iterable[ConversationEvent]) -> dict[str, SessionFacts]:
    out: dict[str, SessionFacts] = {}
    for e in sorted(events, key=lambda e: _aware(e.at)):
        at = _aware(e.at)
        s = out.get(e.session_id)
        if s is None:
            s = out[e.session_id] = SessionFacts(e.session_id, at, at, first_latency_ms=e.latency_ms)
        s.last_at = at
        s.user_id = s.user_id or e.user_id
        s.products = list(dict.fromkeys([*s.products, *e.product_ids]))
        s.verified_orders = list(dict.fromkeys([*s.verified_orders, *e.verified_orders]))
        s.handed_off = s.handed_off or bool(e.handoff_reason)
        s.messages.append(e.message)
    return out


# --- attribution ---------------------------------------------------------------------
class OrderFactSource(Protocol):
    def orders(self, order_ids: Sequence[str]) -> list: ...

    def phone_hashes(self, order_ids: Sequence[str]) -> dict[str, str]: ...


def attribute(orders: Sequence, sessions: dict[str, SessionFacts], phone_hash_of: dict[str, str],
              window: timedelta) -> list[Conversion]:
    """Each order to the latest session before it (within ``window``) with its user or phone hash."""
    out = []
    for order in sorted(orders, key=lambda o: o.created_at):
        at = _aware(order.created_at)
        best: tuple[SessionFacts, str] | None = None
        for s in sessions.values():
            if not (s.first_at <= at <= s.last_at + window):
                continue
            if order.order_id in s.verified_orders:
                continue  # the order the shopper asked about is not a conversion
            if order.user_id and s.user_id and order.user_id == s.user_id:
                how = "user_id"
            elif order.phone_hash and any(phone_hash_of.get(o) == order.phone_hash for o in s.verified_orders):
                how = "phone_hash"
            else:
                continue
            if best is None or s.last_at > best[0].last_at:
                best = (s, how)
        if best is not None:
            s, how = best
            out.append(Conversion(session_id=s.session_id, order_id=order.order_id, order_at=at,
                                  revenue=round(order.amount, 2), matched_by=how,
                                  hours_after=round(max((at - s.last_at).total_seconds(), 0) / 3600, 2)))
    return out


class ConversionTracker:
    """Attributes newly loaded orders; use ``on_change`` as a loader / change-set hook."""

    def __init__(self, events, outcomes, facts: OrderFactSource, window_h: float = 72.0) -> None:
        if window_h <= 0:
            raise ValueError(f"conversion window must be positive hours, got {window_h}")
        self.events = events
        self.outcomes = outcomes
        self.facts = facts
        self.window = timedelta(hours=window_h)

    def on_change(self, summary) -> list[Conversion]:
        ids = sorted(set(summary.created.get("order", ())) | set(summary.updated.get("order", ())))
        return self.attribute_orders(ids) if ids else []

    def attribute_orders(self, order_ids: Sequence[str]) -> list[Conversion]:
        orders = self.facts.orders(order_ids)
        if not orders:
            return []
        earliest = min(_aware(o.created_at) for o in orders) - self.window
        latest = max(_aware(o.created_at) for o in orders) + timedelta(seconds=1)
        sessions = sessions_from_events(self.events.events(earliest, latest))
        verified = sorted({o for s in sessions.values() for o in s.verified_orders})
        hashes = self.facts.phone_hashes(verified) if verified else {}
        stored = [c for c in attribute(orders, sessions, hashes, self.window) if self.outcomes.record_conversion(c)]
        if stored:
            logger.info("attributed %d of %d loaded orders to conversations", len(stored), len(orders))
        return stored


# --- the figures --------------------------------------------------------------------------
class HourFigures(BaseModel):
    hour: int
    leads: int
    converted: int


class PeriodFigures(BaseModel):
    sessions: int = 0
    leads: int = 0
    converted: int = 0
    conversion_rate: float = 0.0
    revenue: float = 0.0


class AskedProduct(BaseModel):
    product_id: str
    name: str | None = None
    sessions: int


class NightShiftFigures(BaseModel):
    """Response speed, resolution, conversion and satisfaction, computed from recorded facts."""

    sessions: int
    leads: int
    converted: int
    conversion_rate: float = Field(description="converted leads / leads")
    night: PeriodFigures = Field(description="sessions starting 22:00-08:00 store time")
    day: PeriodFigures
    by_hour: list[HourFigures]
    revenue_attributed: float
    top_night_products_without_order: list[AskedProduct]
    first_reply_p50_ms: float | None = Field(None, description="the bot's first reply: processing time of each "
                                             "session's first message (median); people are in human_replies")
    first_reply_p95_ms: float | None = None
    human_replies: HumanReplyFigures = Field(default_factory=HumanReplyFigures,
                                             description="after a hand-off: time to the first agent reply")
    auto_resolution_rate: float = Field(description="sessions with no hand-off and no repeated question")
    repeated_question_sessions: int = 0
    ratings: int = 0
    rating_average: float | None = None
    rating_distribution: dict[str, int] = Field(default_factory=dict)


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "", folded)


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def repeated_question(messages: Sequence[str]) -> bool:
    """The shopper asked the same thing twice (identical or near-identical messages of 4+ characters)."""
    seen: list[set[str]] = []
    for m in messages:
        folded = _fold(m)
        if len(folded) < 4:
            continue
        grams = _bigrams(folded)
        if any(len(grams & g) / len(grams | g) >= REPEAT_SIMILARITY for g in seen):
            return True
        seen.append(grams)
    return False


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def night_shift_figures(events: Iterable[ConversationEvent], conversions: Iterable[Conversion],
                        ratings: Iterable[Rating], *, tz_name: str = STORE_TZ,
                        names: Callable[[list[str]], dict[str, str]] | None = None, top_n: int = 10,
                        tickets: Iterable[HandoffTicket] = ()) -> NightShiftFigures:
    tz = ZoneInfo(tz_name)
    sessions = sessions_from_events(events)
    by_session = {c.session_id: c for c in conversions if c.session_id in sessions}
    revenue_by_session: Counter[str] = Counter()
    for c in conversions:
        if c.session_id in sessions:
            revenue_by_session[c.session_id] += c.revenue
    hours = [HourFigures(hour=h, leads=0, converted=0) for h in range(24)]
    night, day = PeriodFigures(), PeriodFigures()
    asked: Counter[str] = Counter()
    resolved = repeated = 0
    for s in sessions.values():
        hour = s.first_at.astimezone(tz).hour
        period = night if is_night(hour) else day
        period.sessions += 1
        converted = s.session_id in by_session
        if s.lead:
            period.leads += 1
            hours[hour].leads += 1
            if converted:
                period.converted += 1
                hours[hour].converted += 1
            elif is_night(hour):
                asked.update(s.products)
        period.revenue = round(period.revenue + revenue_by_session.get(s.session_id, 0.0), 2)
        rep = repeated_question(s.messages)
        repeated += rep
        resolved += (not s.handed_off) and not rep
    for period in (night, day):
        period.conversion_rate = _rate(period.converted, period.leads)
    leads = night.leads + day.leads
    converted = night.converted + day.converted
    top = asked.most_common(top_n)
    label = names([pid for pid, _ in top]) if names and top else {}
    rated = [r for r in ratings if r.session_id in sessions]
    latencies = [s.first_latency_ms for s in sessions.values() if s.first_latency_ms is not None]
    return NightShiftFigures(
        sessions=len(sessions), leads=leads, converted=converted, conversion_rate=_rate(converted, leads),
        night=night, day=day, by_hour=hours,
        revenue_attributed=round(sum(revenue_by_session.values()), 2),
        top_night_products_without_order=[AskedProduct(product_id=p, name=label.get(p), sessions=n) for p, n in top],
        first_reply_p50_ms=percentile(latencies, 50), first_reply_p95_ms=percentile(latencies, 95),
        human_replies=human_reply_figures(tickets, set(sessions)),
        auto_resolution_rate=_rate(resolved, len(sessions)), repeated_question_sessions=repeated,
        ratings=len(rated),
        rating_average=round(sum(r.score for r in rated) / len(rated), 2) if rated else None,
        rating_distribution={str(k): sum(r.score == k for r in rated) for k in range(1, 6)} if rated else {},
    )
