"""Hand-off tickets for human agents: an in-process queue and a Redis queue
shared by every API worker.

Both implement ``dialog.ports.HandoffQueue`` with the same state rules:
``queued -> claimed -> closed`` (a queued ticket may also be closed directly).
A ticket is claimed at most once: the Redis queue checks and writes the status
inside one optimistic transaction (WATCH/MULTI), so two agents racing for the
same ticket get one success and one ``TicketStateError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from dialog.errors import DialogError, TicketNotFound, TicketStateError
from schema.conversation import HandoffTicket, Turn

QUEUED, CLAIMED, CLOSED = "queued", "claimed", "closed"
STATUSES = (QUEUED, CLAIMED, CLOSED)


class HandoffQueueError(DialogError):
    """The queue backend could not be read or written."""


def _now() -> datetime:
    return datetime.now(UTC)


# --- the state rules, shared by both queues -----------------------------------
def _claimed(ticket: HandoffTicket, agent: str) -> HandoffTicket:
    if ticket.status != QUEUED:
        raise TicketStateError(
            f"ticket {ticket.ticket_id} is {ticket.status}"
            + (f" by {ticket.claimed_by}" if ticket.claimed_by else "") + "; only queued tickets can be claimed"
        )
    return ticket.model_copy(update={"status": CLAIMED, "claimed_by": agent, "claimed_at": _now()})


def _with_turn(ticket: HandoffTicket, turn: Turn) -> HandoffTicket:
    if ticket.status == CLOSED:
        raise TicketStateError(f"ticket {ticket.ticket_id} is closed")
    return ticket.model_copy(update={"transcript": [*ticket.transcript, turn]})


def _closed(ticket: HandoffTicket, agent: str) -> HandoffTicket:
    if ticket.status == CLOSED:
        raise TicketStateError(f"ticket {ticket.ticket_id} is already closed")
    if ticket.status == CLAIMED and ticket.claimed_by and ticket.claimed_by != agent:
        raise TicketStateError(f"ticket {ticket.ticket_id} is claimed by {ticket.claimed_by}")
    update: dict[str, object] = {"status": CLOSED, "closed_at": _now()}
    if ticket.claimed_by is None:
        update["claimed_by"] = agent
    return ticket.model_copy(update=update)


def _annotated(ticket: HandoffTicket, fields: dict[str, object]) -> HandoffTicket:
    unknown = set(fields) - _ANNOTATIONS
    if unknown:
        raise ValueError(f"cannot annotate ticket fields {sorted(unknown)}; allowed: {sorted(_ANNOTATIONS)}")
    if ticket.status == CLOSED:
        raise TicketStateError(f"ticket {ticket.ticket_id} is closed")
    return ticket.model_copy(update=fields)


# What the dialogue may change on a waiting ticket (the state moves go through claim/close).
_ANNOTATIONS = frozenset({"priority", "callback_phone", "cancelled", "waiting"})


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown ticket status {status!r}; expected one of {', '.join(STATUSES)}")


class InMemoryHandoffQueue:
    """Tickets in a dict guarded by one lock; for a single process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[str, str] = {}  # id -> JSON, so callers never share objects

    def enqueue(self, ticket: HandoffTicket) -> None:
        with self._lock:
            if ticket.ticket_id in self._tickets:
                raise TicketStateError(f"ticket {ticket.ticket_id} already exists")
            self._tickets[ticket.ticket_id] = ticket.model_dump_json()

    def get(self, ticket_id: str) -> HandoffTicket:
        with self._lock:
            payload = self._tickets.get(ticket_id)
        if payload is None:
            raise TicketNotFound(f"no hand-off ticket {ticket_id}")
        return HandoffTicket.model_validate_json(payload)

    def list(self, status: str | None = None) -> list[HandoffTicket]:
        _check_status(status)
        with self._lock:
            payloads = list(self._tickets.values())
        tickets = [HandoffTicket.model_validate_json(p) for p in payloads]
        return sorted((t for t in tickets if status is None or t.status == status),
                      key=lambda t: t.created_at)

    def _update(self, ticket_id: str, change: Callable[[HandoffTicket], HandoffTicket]) -> HandoffTicket:
        with self._lock:
            payload = self._tickets.get(ticket_id)
            if payload is None:
                raise TicketNotFound(f"no hand-off ticket {ticket_id}")
            ticket = change(HandoffTicket.model_validate_json(payload))
            self._tickets[ticket_id] = ticket.model_dump_json()
        return ticket

    def claim(self, ticket_id: str, agent: str) -> HandoffTicket:
        return self._update(ticket_id, lambda t: _claimed(t, agent))

    def add_turn(self, ticket_id: str, turn: Turn) -> HandoffTicket:
        return self._update(ticket_id, lambda t: _with_turn(t, turn))

    def close(self, ticket_id: str, agent: str) -> HandoffTicket:
        return self._update(ticket_id, lambda t: _closed(t, agent))

    def annotate(self, ticket_id: str, **fields: object) -> HandoffTicket:
        """Set priority / callback_phone / cancelled / waiting on an open ticket."""
        return self._update(ticket_id, lambda t: _annotated(t, fields))

    def delete_for_session(self, session_id: str) -> int:
        with self._lock:
            doomed = [tid for tid, p in self._tickets.items()
                      if HandoffTicket.model_validate_json(p).session_id == session_id]
            for tid in doomed:
                del self._tickets[tid]
        return len(doomed)


class RedisHandoffQueue:
    """Tickets as JSON under ``<prefix>ticket:<id>``, indexed by a creation-time
    sorted set ``<prefix>tickets`` and a per-session set ``<prefix>by-session:<sid>``."""

    def __init__(self, client: redis.Redis, prefix: str = "yeban:handoff:") -> None:
        self.client = client
        self.prefix = prefix
        self._index = prefix + "tickets"

    def _key(self, ticket_id: str) -> str:
        return f"{self.prefix}ticket:{ticket_id}"

    def _session_key(self, session_id: str) -> str:
        return f"{self.prefix}by-session:{session_id}"

    def enqueue(self, ticket: HandoffTicket) -> None:
        try:
            created = self.client.set(self._key(ticket.ticket_id), ticket.model_dump_json(), nx=True)
            if not created:
                raise TicketStateError(f"ticket {ticket.ticket_id} already exists")
            pipe = self.client.pipeline()
            pipe.zadd(self._index, {ticket.ticket_id: ticket.created_at.timestamp()})
            pipe.sadd(self._session_key(ticket.session_id), ticket.ticket_id)
            pipe.execute()
        except redis.RedisError as e:
            raise HandoffQueueError(f"cannot enqueue ticket in Redis: {e}") from e

    def get(self, ticket_id: str) -> HandoffTicket:
        try:
            payload = self.client.get(self._key(ticket_id))
        except redis.RedisError as e:
            raise HandoffQueueError(f"cannot read ticket from Redis: {e}") from e
        if payload is None:
            raise TicketNotFound(f"no hand-off ticket {ticket_id}")
        return HandoffTicket.model_validate_json(payload)

    def list(self, status: str | None = None) -> list[HandoffTicket]:
        _check_status(status)
        try:
            ids = self.client.zrange(self._index, 0, -1)
            payloads = self.client.mget([self._key(i.decode()) for i in ids]) if ids else []
        except redis.RedisError as e:
            raise HandoffQueueError(f"cannot list tickets in Redis: {e}") from e
        tickets = [HandoffTicket.model_validate_json(p) for p in payloads if p is not None]
        return [t for t in tickets if status is None or t.status == status]

    def _update(self, ticket_id: str, change: Callable[[HandoffTicket], HandoffTicket]) -> HandoffTicket:
        key = self._key(ticket_id)
        result: list[HandoffTicket] = []

        def attempt(pipe: redis.client.Pipeline) -> None:
            payload = pipe.get(key)  # immediate mode: the key is WATCHed
            if payload is None:
                raise TicketNotFound(f"no hand-off ticket {ticket_id}")
            ticket = change(HandoffTicket.model_validate_json(payload))
            pipe.multi()
            pipe.set(key, ticket.model_dump_json())
            result[:] = [ticket]

        try:
            self.client.transaction(attempt, key)
        except redis.RedisError as e:
            raise HandoffQueueError(f"cannot update ticket in Redis: {e}") from e
        return result[0]

    def claim(self, ticket_id: str, agent: str) -> HandoffTicket:
        return self._update(ticket_id, lambda t: _claimed(t, agent))

    def add_turn(self, ticket_id: str, turn: Turn) -> HandoffTicket:
        return self._update(ticket_id, lambda t: _with_turn(t, turn))

    def close(self, ticket_id: str, agent: str) -> HandoffTicket:
        return self._update(ticket_id, lambda t: _closed(t, agent))

    def annotate(self, ticket_id: str, **fields: object) -> HandoffTicket:
        """Set priority / callback_phone / cancelled / waiting on an open ticket."""
        return self._update(ticket_id, lambda t: _annotated(t, fields))

    def delete_for_session(self, session_id: str) -> int:
        skey = self._session_key(session_id)
        try:
            ids = [i.decode() for i in self.client.smembers(skey)]
            if not ids:
                return 0
            pipe = self.client.pipeline()
            for tid in ids:
                pipe.delete(self._key(tid))
            pipe.zrem(self._index, *ids)
            pipe.delete(skey)
            deleted = pipe.execute()[: len(ids)]
        except redis.RedisError as e:
            raise HandoffQueueError(f"cannot delete tickets in Redis: {e}") from e
        return sum(int(d) for d in deleted)
