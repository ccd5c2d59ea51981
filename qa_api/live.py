"""What the live streams show, read from the shared stores on every poll.

``shopper_view`` is a shopper's conversation as the widget needs it (the agent's
messages and the hand-off state); ``queue_view`` is the agents' queue. Both
read only the session store and the hand-off queue (Redis with several
workers), never a worker's memory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialog.after_hours import PRIORITY_ANGER, PRIORITY_OTHER
from dialog.agent_hours import AgentHours
from dialog.errors import TicketNotFound
from dialog.ports import HandoffQueue, SessionStore
from schema.conversation import DialogState, HandoffTicket

# Lower is more urgent (as dialog.after_hours ranks waiting tickets); used when a ticket carries
# no priority of its own.
REASON_PRIORITY: dict[str, int] = {"anger": PRIORITY_ANGER, "dispute": PRIORITY_ANGER}
CLOSED_VISIBLE = timedelta(minutes=30)  # closed tickets stay in the queue view this long
MAX_AGENT_TURNS = 20


def shopper_view(session_id: str, sessions: SessionStore, handoffs: HandoffQueue,
                 hours: AgentHours, now: datetime | None = None) -> list[tuple[str, Any]]:
    """``state`` (dialogue state, hand-off ticket status, whether agents are on duty and
    when to expect a reply) and ``agent`` (the agent's messages, oldest first)."""
    now = now or datetime.now(UTC)
    ctx = sessions.load(session_id)
    if ctx is None:
        return [("state", {"state": "unknown", "handoff": None})]
    handoff = None
    if ctx.handoff_ticket_id:
        try:
            ticket = handoffs.get(ctx.handoff_ticket_id)
        except TicketNotFound:
            ticket = None
        if ticket is not None:
            handoff = {"ticket_id": ticket.ticket_id, "status": ticket.status, "reason": ticket.reason,
                       "agent": ticket.claimed_by if ticket.status == "claimed" else None,
                       "waiting": bool(getattr(ticket, "waiting", False))}
    available = hours.is_open(now)
    # An after-hours ticket waits for the morning while the bot keeps answering: still a hand-off.
    open_ticket = handoff is not None and handoff["status"] != "closed"
    state = {
        "state": ctx.state.value,
        "in_handoff": ctx.state == DialogState.HANDOFF or open_ticket,
        "handoff": handoff,
        "agent_available": available,
        "reply_expected": None if available else hours.reply_time_message(now),
    }
    turns = [{"text": t.text, "at": t.at.isoformat()} for t in ctx.history if t.role == "agent"]
    return [("state", state), ("agent", {"turns": turns[-MAX_AGENT_TURNS:]})]


def ticket_priority(ticket: HandoffTicket) -> int:
    own = getattr(ticket, "priority", None)
    if isinstance(own, int | float) and not isinstance(own, bool):
        return int(own)
    return REASON_PRIORITY.get(ticket.reason, PRIORITY_OTHER)


def ticket_summary(ticket: HandoffTicket) -> dict[str, Any]:
    shopper_lines = [t.text for t in ticket.transcript if t.role == "shopper"]
    return {
        "ticket_id": ticket.ticket_id,
        "session_id": ticket.session_id,
        "status": ticket.status,
        "reason": ticket.reason,
        "intent": ticket.intent,
        "priority": ticket_priority(ticket),
        "created_at": ticket.created_at.isoformat(),
        "claimed_by": ticket.claimed_by,
        "turns": len(ticket.transcript),
        "waiting": bool(getattr(ticket, "waiting", False)),
        "callback": bool(getattr(ticket, "callback_phone", None)),
        "last_message": shopper_lines[-1] if shopper_lines else "",
    }


def queue_view(handoffs: HandoffQueue, now: datetime | None = None) -> list[tuple[str, Any]]:
    """``queue``: open tickets and those closed recently, most urgent (lowest priority number)
    first, then oldest first."""
    now = now or datetime.now(UTC)
    visible = [t for t in handoffs.list()
               if t.status != "closed" or (t.closed_at is not None and now - t.closed_at <= CLOSED_VISIBLE)]
    visible.sort(key=lambda t: (t.status == "closed", ticket_priority(t), t.created_at))
    return [("queue", {"tickets": [ticket_summary(t) for t in visible]})]
