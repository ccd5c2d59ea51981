"""The conversation state machine, declared as data in one place.

Every state change the dialogue makes goes through ``ConversationMachine.fire``
with a named trigger; a trigger that the table does not allow from the current
state raises ``InvalidTransition`` instead of being ignored.
Which messages fire which trigger is declared in ``dialog/routing.json`` (the
guards of each route); ``python -m dialog.fsm`` prints the machine as a Mermaid
diagram with those guards as notes on the states the triggers lead to.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dialog.errors import InvalidTransition
from schema.conversation import DialogState as S
from schema.conversation import SessionContext

if TYPE_CHECKING:
    from dialog.routing import RoutingTable

# States from which the bot is in a normal, talking conversation.
_TALKING = [S.IDLE, S.ANSWERED, S.AWAIT_PRODUCT, S.AWAIT_ATTRIBUTE, S.AWAIT_ORDER_ID,
            S.AWAIT_PHONE_LAST4, S.CLARIFY]


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: tuple[S, ...]
    dest: S


TRANSITIONS: tuple[Transition, ...] = (
    Transition("answer", tuple(_TALKING), S.ANSWERED),
    Transition("ask_product", tuple(_TALKING), S.AWAIT_PRODUCT),
    Transition("ask_attribute", tuple(_TALKING), S.AWAIT_ATTRIBUTE),
    Transition("ask_order_id", tuple(_TALKING), S.AWAIT_ORDER_ID),
    Transition("ask_phone_last4", tuple(_TALKING), S.AWAIT_PHONE_LAST4),
    Transition("clarify", tuple(_TALKING), S.CLARIFY),
    Transition("fallback", tuple(_TALKING), S.IDLE),
    Transition("handoff", tuple(_TALKING) + (S.CLOSED,), S.HANDOFF),
    Transition("agent_close", (S.HANDOFF,), S.IDLE),
    Transition("goodbye", tuple(_TALKING), S.CLOSED),
    Transition("reopen", (S.CLOSED,), S.IDLE),
)


class ConversationMachine:
    """Applies triggers to a session context according to ``TRANSITIONS``.

    >>> machine = ConversationMachine()
    >>> machine.fire(context, "ask_order_id")   # context.state becomes AWAIT_ORDER_ID
    """

    def __init__(self, transitions: tuple[Transition, ...] = TRANSITIONS) -> None:
        self._table: dict[tuple[str, S], S] = {}
        for t in transitions:
            for source in t.source:
                self._table[(t.trigger, source)] = t.dest
        self.triggers = frozenset(t.trigger for t in transitions)

    def can_fire(self, state: S, trigger: str) -> bool:
        return (trigger, state) in self._table

    def fire(self, context: SessionContext, trigger: str) -> S:
        """Move ``context`` along ``trigger``; raise ``InvalidTransition`` if not allowed."""
        if trigger not in self.triggers:
            raise InvalidTransition(f"unknown trigger {trigger!r}")
        dest = self._table.get((trigger, context.state))
        if dest is None:
            raise InvalidTransition(f"trigger {trigger!r} is not allowed from state {context.state.value!r}")
        context.state = dest
        return dest


def mermaid(transitions: tuple[Transition, ...] = TRANSITIONS, routing: RoutingTable | None = None) -> str:
    """The machine as a Mermaid state diagram; with ``routing``, each state carries a note
    listing the routes (and their guards) whose policies may fire a trigger into it."""
    lines = ["stateDiagram-v2", "    [*] --> idle"]
    for t in transitions:
        for source in t.source:
            lines.append(f"    {source.value} --> {t.dest.value}: {t.trigger}")
    if routing is not None:
        into: dict[S, list[str]] = {}
        for t in transitions:
            for route in routing.routes:
                if t.trigger in route.fires:
                    into.setdefault(t.dest, []).append(f"{t.trigger} ⇐ {route.name} [{route.guard_label()}]")
        for dest, items in into.items():
            lines.append(f"    note right of {dest.value}")
            lines += [f"        {item}" for item in dict.fromkeys(items)]
            lines.append("    end note")
    return "\n".join(lines)


def _routing_table() -> RoutingTable:
    from dialog.actions import Actions, GraphGuard
    from dialog.router import Router

    return Router.load(Actions(None, None, None, None, GraphGuard()).table()).table  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.stdout.write(mermaid(routing=_routing_table()) + "\n")
