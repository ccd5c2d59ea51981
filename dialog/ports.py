"""The seams of the dialogue package: small Protocols with in-process and shared
(Redis / SQLite) implementations in their own modules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from schema.conversation import ChatReply, ConversationEvent, HandoffTicket, SessionContext, Turn


class SessionStore(Protocol):
    """Where session contexts live between messages (shared across API workers)."""

    def load(self, session_id: str) -> SessionContext | None:
        """The stored context, or None when unknown or expired."""

    def save(self, context: SessionContext) -> None:
        """Store the context, resetting its time-to-live; history is trimmed to the bound."""

    def delete(self, session_id: str) -> bool:
        """Erase the session (PIPL/GDPR erasure); True if something was deleted."""


class HandoffQueue(Protocol):
    """Tickets for human agents. Raises ``dialog.errors.TicketNotFound`` /
    ``TicketStateError`` for unknown ids and invalid moves (e.g. closing twice)."""

    def enqueue(self, ticket: HandoffTicket) -> None: ...

    def get(self, ticket_id: str) -> HandoffTicket: ...

    def list(self, status: str | None = None) -> list[HandoffTicket]: ...

    def claim(self, ticket_id: str, agent: str) -> HandoffTicket: ...

    def add_turn(self, ticket_id: str, turn: Turn) -> HandoffTicket: ...

    def close(self, ticket_id: str, agent: str) -> HandoffTicket: ...

    def delete_for_session(self, session_id: str) -> int: ...


class EventLog(Protocol):
    """Append-only record of handled messages, for analytics."""

    def record(self, event: ConversationEvent) -> None: ...

    def events(self, start: datetime | None = None, end: datetime | None = None) -> list[ConversationEvent]: ...

    def delete_for_session(self, session_id: str) -> int: ...

    def last_event_at(self, session_id: str) -> datetime | None: ...


class ChatEngine(Protocol):
    """What the API calls; ``dialog.engine.DialogEngine`` implements it."""

    def chat(self, session_id: str, message: str, channel: str | None = None,
             user_id: str | None = None) -> ChatReply: ...

    def transcript(self, session_id: str) -> SessionContext | None: ...

    def erase(self, session_id: str) -> bool: ...

    def agent_reply(self, ticket_id: str, agent: str, text: str) -> HandoffTicket: ...

    def close_handoff(self, ticket_id: str, agent: str) -> HandoffTicket: ...
