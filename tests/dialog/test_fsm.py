"""The conversation FSM: declared transitions work, undeclared ones raise."""

from __future__ import annotations

from datetime import datetime

import pytest

from dialog.errors import InvalidTransition
from dialog.fsm import TRANSITIONS, ConversationMachine, mermaid
from schema.conversation import DialogState, SessionContext


def _ctx(state: DialogState = DialogState.IDLE) -> SessionContext:
    now = datetime(2026, 11, 25, 23, 0)
    return SessionContext(session_id="s", state=state, created_at=now, updated_at=now)


def test_slot_filling_path_for_an_order():
    m, ctx = ConversationMachine(), _ctx()
    assert m.fire(ctx, "ask_order_id") == DialogState.AWAIT_ORDER_ID
    assert m.fire(ctx, "ask_phone_last4") == DialogState.AWAIT_PHONE_LAST4
    assert m.fire(ctx, "answer") == DialogState.ANSWERED
    assert ctx.state == DialogState.ANSWERED


def test_handoff_only_leaves_through_agent_close():
    m, ctx = ConversationMachine(), _ctx(DialogState.ANSWERED)
    m.fire(ctx, "handoff")
    for trigger in ("answer", "clarify", "fallback", "goodbye", "ask_order_id"):
        with pytest.raises(InvalidTransition, match=f"{trigger}.*handoff"):
            m.fire(ctx, trigger)
    assert ctx.state == DialogState.HANDOFF
    assert m.fire(ctx, "agent_close") == DialogState.IDLE


def test_unknown_trigger_is_an_error_not_a_noop():
    m, ctx = ConversationMachine(), _ctx()
    with pytest.raises(InvalidTransition, match="unknown trigger"):
        m.fire(ctx, "teleport")
    assert ctx.state == DialogState.IDLE


def test_closed_session_reopens_on_new_message():
    m, ctx = ConversationMachine(), _ctx(DialogState.ANSWERED)
    m.fire(ctx, "goodbye")
    assert not m.can_fire(ctx.state, "answer")
    assert m.fire(ctx, "reopen") == DialogState.IDLE


def test_every_state_is_reachable_and_diagram_lists_all_edges():
    reachable = {t.dest for t in TRANSITIONS} | {DialogState.IDLE}
    assert reachable == set(DialogState)
    diagram = mermaid()
    assert diagram.startswith("stateDiagram-v2")
    assert "handoff --> idle: agent_close" in diagram
    assert diagram.count("-->") == 1 + sum(len(t.source) for t in TRANSITIONS)
