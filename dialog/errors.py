"""Errors raised by the dialogue package; the API maps them to HTTP once."""


class DialogError(Exception):
    """Root of every error raised by ``dialog``."""


class InvalidTransition(DialogError):
    """The FSM was asked for a transition its table does not allow."""


class TicketNotFound(DialogError):
    """No hand-off ticket with that id."""


class TicketStateError(DialogError):
    """The ticket is not in a state that allows this action."""


class SessionNotFound(DialogError):
    """No session with that id (or it expired)."""


class OrderServiceError(DialogError):
    """The order system could not answer (timeout, circuit open, bad response)."""
