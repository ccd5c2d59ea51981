"""Routing as data: the shipped table validates against the taxonomy, the FSM,
the guards and the engine's policies; anything unknown is a start-up error that
names the file, the route and the field; the router picks the first route whose
intents, states and guards hold."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from dialog.actions import Actions, GraphGuard
from dialog.fsm import mermaid
from dialog.guards import GUARDS, REQUIRED_CUES
from dialog.router import RouteMisfire, Router
from dialog.routing import DEFAULT_ROUTING_PATH, RoutingError, load_routing
from dialog.understand import Understanding
from schema.conversation import DialogState, SessionContext

POLICIES = set(Actions(None, None, None, None, GraphGuard()).table())  # type: ignore[arg-type]


def _load(tmp_path, mutate) -> None:
    data = json.loads(DEFAULT_ROUTING_PATH.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "routing.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    load_routing(path, guards=set(GUARDS), policies=POLICIES, required_cues=set(REQUIRED_CUES))


def _ctx(state: DialogState = DialogState.IDLE) -> SessionContext:
    now = datetime(2026, 12, 1, 12, 0)
    return SessionContext(session_id="s", state=state, created_at=now, updated_at=now)


def _u(text: str, intent: str, **kw) -> Understanding:
    return Understanding(text=text, intent=intent, confidence=0.9, unsure=kw.pop("unsure", False), **kw)


def test_shipped_routing_validates_and_ends_with_a_catch_all():
    table = load_routing(guards=set(GUARDS), policies=POLICIES, required_cues=set(REQUIRED_CUES))
    assert table.routes[-1].name == "knowledge" and not table.routes[-1].intents
    assert {"order_status", "change_address", "cancel_order"} == table.group("order")
    assert all(r.fires for r in table.routes)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["routes"][5].update(intents=["greetings"]), r"routes\[5\] \('greeting'\)\.intents: unknown intent"),
    (lambda d: d["routes"][1].update(states=["thinking"]), r"routes\[1\].*\.states: unknown state"),
    (lambda d: d["routes"][2].update(guards=["furious"]), r"routes\[2\] \('anger'\)\.guards: unknown guard"),
    (lambda d: d["routes"][0].update(guards=["not:furious"]), r"unknown guard 'not:furious'"),
    (lambda d: d["routes"][1].update(policy="teleport"), r"\.policy: unknown policy 'teleport'"),
    (lambda d: d["routes"][1].update(fires=["beam_up"]), r"\.fires: trigger\(s\) \['beam_up'\] are not in the FSM"),
    (lambda d: d["routes"][10].update(intents=["@orders"]), r"unknown group '@orders'"),
    (lambda d: d["groups"].update(order=["order_status", "refund_now"]), r"groups\.order: unknown intent"),
    (lambda d: d["cues"].pop("information_question"), r"missing cue list\(s\) \['information_question'\]"),
    (lambda d: d["cues"].update(my_parcel=["(unclosed"]), r"cues\.my_parcel\[0\]: not a valid pattern"),
    (lambda d: d["routes"].pop(), r"the last route must take every message"),
    (lambda d: d["routes"].append(dict(d["routes"][-1])), r"duplicate route name"),
    (lambda d: d["routes"][0].update(colour="red"), r"routes\.0\.colour"),
])
def test_unknown_names_are_start_up_errors(tmp_path, mutate, message):
    with pytest.raises(RoutingError, match=message) as e:
        _load(tmp_path, mutate)
    assert "routing.json" in str(e.value)


def test_bad_json_names_the_line(tmp_path):
    path = tmp_path / "routing.json"
    path.write_text('{\n  "groups": {},\n  oops\n}', encoding="utf-8")
    with pytest.raises(RoutingError, match=r"routing\.json: line 3: not JSON"):
        load_routing(path, guards=set(GUARDS), policies=POLICIES)


class _Recorder:
    """Policies that record which one ran; ``decline`` lists those that return None."""

    def __init__(self, decline: set[str] = frozenset(), trigger: str | None = None) -> None:
        self.ran: list[str] = []
        self.decline = decline
        self.trigger = trigger

    def table(self):
        from dialog.policies.base import PolicyResult

        def make(name):
            def policy(u, pc, route):
                self.ran.append(name)
                if name in self.decline:
                    return None
                return PolicyResult(name, self.trigger or sorted(route.fires)[0])
            return policy
        return {name: make(name) for name in POLICIES}


def _route(text: str, intent: str, state: DialogState = DialogState.IDLE, decline=frozenset(), **kw):
    from dialog.policies.base import PolicyContext
    from dialog.templates import Templates

    rec = _Recorder(set(decline) | {"shopping"})  # not a shopping request
    router = Router.load(rec.table())
    route, _ = router.route(_u(text, intent, **kw), PolicyContext(_ctx(state), Templates(), datetime(2026, 12, 1)))
    return route.name, rec.ran


@pytest.mark.parametrize(("text", "intent", "route"), [
    ("收货人能改吗", "change_address", "order_information"),
    ("发货了还能取消订单吗", "cancel_order", "order_information"),
    ("取消订单一般多久退款", "cancel_order", "order_information"),
    ("改收货信息多久生效", "change_address", "order_information"),
    ("付款一小时了 取消还来得及吗", "cancel_order", "order_information"),
    ("帮我把地址改成公司地址", "change_address", "order"),
    ("我要取消订单", "cancel_order", "order"),
    ("我昨天拍的那件 地址写错了 能改吗", "change_address", "order"),
    ("刚下的单能取消吗", "cancel_order", "order"),
    ("改收货信息多久生效 我门牌号写错了", "change_address", "order_rule_with_own_case"),
    ("我的快递到哪了", "shipping", "own_parcel"),
    ("一般几天能到", "shipping", "knowledge"),
])
def test_information_before_procedure(text, intent, route):
    assert _route(text, intent)[0] == route


def test_a_rule_question_with_my_case_starts_the_order_flow_when_no_answer_is_found():
    route, ran = _route("改收货信息多久生效 我门牌号写错了", "change_address", decline={"knowledge_if_answered"})
    assert route == "order" and ran[-2:] == ["knowledge_if_answered", "order"]


def test_order_number_always_starts_the_order_flow():
    assert _route("2612059988776655 能改地址吗", "change_address", order_id="2612059988776655")[0] == "order"


def test_anger_and_explicit_request_come_first():
    assert _route("收货人能改吗", "change_address", emotion=0.95)[0] == "anger"
    assert _route("转人工 能退吗", "return_refund", explicit_handoff=True)[0] == "explicit_request"


def test_concrete_complaint_gets_help_and_a_bare_complaint_a_person():
    assert _route("买的锅用了两次就坏了", "complaint")[0] == "complaint_with_problem"
    assert _route("你们服务太差了", "complaint")[0] == "complaint"


def test_a_declining_policy_passes_to_the_next_route():
    name, ran = _route("多少钱", "price_promotion", decline={"product"})
    assert name == "knowledge" and ran == ["shopping", "product", "knowledge"]


def test_states_restrict_routes():
    assert _route("2", "out_of_scope", DialogState.CLARIFY, choice=2)[0] == "numbered_choice"
    assert _route("1234", "order_status", DialogState.AWAIT_PHONE_LAST4, last4="1234")[0] == "order_slot"


def test_a_trigger_the_route_does_not_declare_is_an_error():
    from dialog.policies.base import PolicyContext
    from dialog.templates import Templates

    rec = _Recorder(decline={"shopping"}, trigger="ask_order_id")
    router = Router.load(rec.table())
    with pytest.raises(RouteMisfire, match="route 'greeting'.*fired 'ask_order_id'"):
        router.route(_u("你好", "greeting"), PolicyContext(_ctx(), Templates(), datetime(2026, 12, 1)))


def test_diagram_carries_the_guards():
    table = load_routing(guards=set(GUARDS), policies=POLICIES, required_cues=set(REQUIRED_CUES))
    diagram = mermaid(routing=table)
    assert "note right of handoff" in diagram
    assert "handoff ⇐ anger [angry]" in diagram
    assert "not own_order_action" in diagram
