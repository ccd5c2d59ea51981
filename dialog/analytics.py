"""Figures for the store's operators, computed from recorded conversation
events (never estimated): traffic by intent and by local hour, the night-time
share the bot covers, auto-resolution, hand-off and fallback rates, latency
percentiles, and the hot-topic board of questions the bot could not answer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from schema.conversation import ConversationEvent

STORE_TZ = "Asia/Shanghai"
NIGHT_START_HOUR = 22  # night is 22:00-08:00 store time
NIGHT_END_HOUR = 8

_PUNCT_SPACE = re.compile(r"[\s\u3000]+")
_LONG_NUMBER = re.compile(r"\d{4,}")
_TRAILING_PARTICLES = re.compile(r"[吗呢啊呀吧嘛哈哦噢啦]+$")


class UnansweredQuestion(BaseModel):
    text: str
    count: int


class AnalyticsSummary(BaseModel):
    start: datetime | None
    end: datetime | None
    timezone: str = STORE_TZ
    messages: int
    sessions: int
    by_intent: dict[str, int] = Field(default_factory=dict)
    by_hour: list[int] = Field(default_factory=lambda: [0] * 24, description="messages per store-time hour 0-23")
    night_messages: int = 0
    night_share: float = 0.0
    auto_resolution_rate: float = 0.0
    fallback_rate: float = 0.0
    handoffs: int = 0
    handoff_rate: float = Field(0.0, description="share of sessions handed to a human agent")
    handoff_reasons: dict[str, int] = Field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    top_unanswered: list[UnansweredQuestion] = Field(default_factory=list)


def normalise_question(text: str) -> str:
    """Fold a shopper message for counting: NFKC, lower case, no punctuation or
    spaces, trailing modal particles dropped, long numbers (orders, phones) as ``#``."""
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = "".join(ch for ch in folded if not unicodedata.category(ch).startswith(("P", "S")))
    folded = _PUNCT_SPACE.sub("", folded)
    folded = _LONG_NUMBER.sub("#", folded)
    return _TRAILING_PARTICLES.sub("", folded) or folded


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of the values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_night(hour: int) -> bool:
    return hour >= NIGHT_START_HOUR or hour < NIGHT_END_HOUR


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def summarize(events: Iterable[ConversationEvent], start: datetime | None = None,
              end: datetime | None = None, top_n: int = 20, tz_name: str = STORE_TZ) -> AnalyticsSummary:
    """Summarise the events with ``start <= at < end`` (bounds optional)."""
    tz = ZoneInfo(tz_name)
    lo = _aware(start) if start is not None else None
    hi = _aware(end) if end is not None else None
    chosen = [e for e in events
              if (lo is None or _aware(e.at) >= lo) and (hi is None or _aware(e.at) < hi)]

    by_intent: Counter[str] = Counter()
    by_hour = [0] * 24
    reasons: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    sessions: set[str] = set()
    handed_off: set[str] = set()
    resolved = fallbacks = night = 0
    for event in chosen:
        sessions.add(event.session_id)
        by_intent[event.intent] += 1
        hour = _aware(event.at).astimezone(tz).hour
        by_hour[hour] += 1
        night += is_night(hour)
        resolved += event.resolved
        fallbacks += event.fallback
        if event.handoff_reason:
            reasons[event.handoff_reason] += 1
            handed_off.add(event.session_id)
        if event.fallback or event.handoff_reason:
            key = normalise_question(event.message)
            if key:
                unanswered[key] += 1

    latencies = [e.latency_ms for e in chosen]
    total = len(chosen)
    return AnalyticsSummary(
        start=lo, end=hi, timezone=tz_name, messages=total, sessions=len(sessions),
        by_intent=dict(by_intent.most_common()), by_hour=by_hour,
        night_messages=night, night_share=_rate(night, total),
        auto_resolution_rate=_rate(resolved, total), fallback_rate=_rate(fallbacks, total),
        handoffs=sum(reasons.values()), handoff_rate=_rate(len(handed_off), len(sessions)),
        handoff_reasons=dict(reasons.most_common()),
        latency_p50_ms=percentile(latencies, 50), latency_p95_ms=percentile(latencies, 95),
        top_unanswered=[UnansweredQuestion(text=t, count=c)
                        for t, c in sorted(unanswered.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]],
    )
