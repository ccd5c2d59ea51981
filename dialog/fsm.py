"""The conversation state machine, declared as data in one place.

Every state change the dialogue makes goes through ``ConversationMachine.fire``
with a named trigger; a trigger that the table does not allow from the current
state raises ``InvalidTransition`` instead of being ignored.
``python -m dialog.fsm`` prints the machine as a Mermaid diagram.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from dialog.errors import InvalidTransition
from schema.conversation import DialogState as S
from schema.conversation import SessionContext

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


def mermaid(transitions: tuple[Transition, ...] = TRANSITIONS) -> str:
    """The machine as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", "    [*] --> idle"]
    for t in transitions:
        for source in t.source:
            lines.append(f"    {source.value} --> {t.dest.value}: {t.trigger}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(mermaid() + "\n")
