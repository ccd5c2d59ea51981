"""Two API nodes (separate gunicorn instances on two ports) against one Neo4j and one Redis:
one conversation alternates between them - slot filling, a hand-off, the agent's reply - so
any node can serve any message. Each node keeps its own event log file (the part still per node)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from ops.errors import ApiLaunchError
from ops.loadgen import get, post
from schema.settings import PROJECT_ROOT
from tests import ports
from tests.api_nodes import AGENT_TOKEN, start_node

pytestmark = pytest.mark.slow
HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def nodes(demo_graph, settings, redis_server, tmp_path_factory):
    base = tmp_path_factory.mktemp("nodes")
    servers: dict[str, object] = {}
    errors: list[BaseException] = []
    with pytest.MonkeyPatch.context() as mp:
        def boot(name: str, port: int) -> None:
            try:
                servers[name] = start_node(settings, redis_server.url, base / name / "var", port, 1, mp)
            except ApiLaunchError as e:  # reported below, after both boots ended
                errors.append(e)

        threads = [threading.Thread(target=boot, args=("a", ports.API_NODE_A)),
                   threading.Thread(target=boot, args=("b", ports.API_NODE_B))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            if errors:
                raise errors[0]
            yield servers["a"], servers["b"]
        finally:
            for server in servers.values():
                server.stop()


def _order_with_phone() -> tuple[str, str]:
    for line in (PROJECT_ROOT / "data" / "demo" / "orders.jsonl").read_text(encoding="utf-8").splitlines():
        order = json.loads(line)
        if order["status"] == "已发货":
            return order["order_id"], order["phone"]
    raise AssertionError("no shipped order in the demo store")


class Shopper:
    def __init__(self) -> None:
        self.sid: str | None = None

    def say(self, node, message: str) -> dict:
        body = {"message": message} if self.sid is None else {"session_id": self.sid, "message": message}
        outcome = post(HOST, node.settings.api_port, "/v1/chat", body)
        assert outcome.status == 200, outcome
        assert self.sid is None or outcome.body["session_id"] == self.sid  # the same session on both nodes
        self.sid = outcome.body["session_id"]
        return outcome.body


def _agent(node, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    if method == "GET":
        return get(HOST, node.settings.api_port, path, token=AGENT_TOKEN)
    outcome = post(HOST, node.settings.api_port, path, body or {}, token=AGENT_TOKEN)
    return outcome.status or 0, outcome.body


def test_one_conversation_alternating_between_two_nodes(nodes):
    a, b = nodes
    order_id, phone = _order_with_phone()
    shopper = Shopper()
    # Slot filling across nodes: the order number on one node, the phone digits on the other.
    assert shopper.say(a, "我的快递到哪了")["state"] == "await_order_id"
    assert shopper.say(b, order_id)["state"] == "await_phone_last4"
    r = shopper.say(a, f"尾号{phone[-4:]}")
    assert r["state"] == "answered" and {"kind": "order", "id": order_id} in r["sources"]
    # Context across nodes: a product on one node, a pronoun on the other.
    r = shopper.say(b, "云裳碎花裙白底碎花M码还有几件")
    assert {"kind": "product", "id": "P1002"} in r["sources"]
    r = shopper.say(a, "它哪些尺码有货")
    assert {"kind": "product", "id": "P1002"} in r["sources"]
    # Hand-off opened on one node, claimed and answered by an agent on the other.
    r = shopper.say(b, "转人工")
    assert r["state"] == "handoff"
    ticket_id = r["handoff"]["ticket_id"]
    status, queued = _agent(a, "GET", "/v1/handoffs?status=queued")
    assert status == 200 and ticket_id in [t["ticket_id"] for t in queued["tickets"]]
    assert _agent(a, "POST", f"/v1/handoffs/{ticket_id}/claim")[0] == 200
    assert shopper.say(b, "在吗")["reply"] == ""  # while handed off, messages go to the ticket
    status, ticket = _agent(b, "POST", f"/v1/handoffs/{ticket_id}/reply", {"text": "您好，我是客服小周"})
    assert status == 200 and ticket["transcript"][-2]["text"] == "在吗"
    status, context = _agent(a, "GET", f"/v1/sessions/{shopper.sid}")
    assert status == 200 and "您好，我是客服小周" in [t["text"] for t in context["history"]]
    assert _agent(b, "POST", f"/v1/handoffs/{ticket_id}/close")[0] == 200
    back = shopper.say(a, "能开发票吗")  # the bot is back, on either node
    assert back["state"] != "handoff" and back["reply"]
    # What is still per node: each node's event log file holds the messages that node served. Events
    # are written behind the request (YEBAN_EVENTS_WRITE_BEHIND_S, 0.25 s), so another process sees
    # them within a moment: wait up to 10 s.
    deadline = time.monotonic() + 10
    counts = [_event_count(node.settings.events_db) for node in nodes]
    while not all(n > 0 for n in counts) and time.monotonic() < deadline:
        time.sleep(0.25)
        counts = [_event_count(node.settings.events_db) for node in nodes]
    assert all(n > 0 for n in counts), counts  # both nodes served and logged part of one conversation


def _event_count(path) -> int:
    """Events in one node's file as another process reads it (0 before the node's first write)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.OperationalError:  # no table yet: the node has not written its first batch
        return 0
    finally:
        conn.close()
