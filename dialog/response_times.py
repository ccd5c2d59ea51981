"""Time to first reply, said for who replied: the bot, or a person after a hand-off.

*Bot first reply*: the processing time of a session's first message (the
event's ``latency_ms``): how long the shopper waited for the first answer.
*First human reply*: for each hand-off ticket, from the hand-off
(``created_at``) to the first agent turn of its transcript. A ticket that
night is answered in the morning, so this figure is in minutes and counts
the wait for agent hours; tickets still without an agent turn are counted
apart (``handoffs_unanswered``), cancelled ones (不用了) are not waited on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from schema.conversation import HandoffTicket


class HumanReplyFigures(BaseModel):
    handoffs: int = Field(0, description="hand-off tickets of the sessions counted")
    handoffs_answered: int = Field(0, description="tickets with an agent reply")
    handoffs_unanswered: int = Field(0, description="tickets still waiting for a person (not cancelled)")
    handoffs_cancelled: int = 0
    first_human_reply_p50_min: float | None = Field(None, description="hand-off -> first agent reply, median")
    first_human_reply_p95_min: float | None = None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(round(q / 100 * len(ordered), 9))  # nearest rank: the smallest value with q% at or below it
    return round(ordered[max(0, min(len(ordered), rank) - 1)], 1)


def human_reply_figures(tickets: Iterable[HandoffTicket], session_ids: set[str] | None = None) -> HumanReplyFigures:
    """Hand-off -> first agent turn, over the tickets of ``session_ids`` (all when None)."""
    waits: list[float] = []
    out = HumanReplyFigures()
    for t in tickets:
        if session_ids is not None and t.session_id not in session_ids:
            continue
        out.handoffs += 1
        first = next((turn for turn in t.transcript if turn.role == "agent"), None)
        if first is not None:
            out.handoffs_answered += 1
            waits.append(max((_aware(first.at) - _aware(t.created_at)).total_seconds(), 0.0) / 60)
        elif t.cancelled:
            out.handoffs_cancelled += 1
        else:
            out.handoffs_unanswered += 1
    out.first_human_reply_p50_min = percentile(waits, 50)
    out.first_human_reply_p95_min = percentile(waits, 95)
    return out
