"""The consoles' JSON and event-stream endpoints with the real engine (demo store in
Neo4j, e5 models, Redis): the live queue read from Redis by a second app (another
worker), a ticket with its products and the bot's sources, the shopper's stream,
"try a question" on an erased session, an agent's answer saved as a pending FAQ change
set (listed, discarded, applied and then answered), and unanswered questions clustered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis

from dialog.agent_hours import AgentHours
from dialog.handoff_queue import InMemoryHandoffQueue
from dialog.session_store import InMemorySessionStore
from qa_api.clusters import cluster_questions
from qa_api.config import api_config
from qa_api.live import queue_view, shopper_view, ticket_priority
from qa_api.services import build_services
from qa_api.sse import StreamLimit, StreamTiming, changes
from schema.conversation import HandoffTicket, SessionContext
from tests.qa_api.conftest import AGENT, OPERATOR, TOKENS, engine_stack

SH = ZoneInfo("Asia/Shanghai")


# --- mechanics, no server -----------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_stream_sends_a_part_only_when_it_changed_and_ends_with_bye():
    clock = FakeClock()
    values = iter([1, 1, 2, 2, 2, 3])
    limit = StreamLimit(1)
    assert limit.acquire() and not limit.acquire()
    frames = list(changes(lambda: [("n", {"v": next(values)})], StreamTiming(poll_s=1, max_s=5, heartbeat_s=100),
                          limit=limit, sleep=clock.sleep, clock=clock))
    data = [json.loads(f.split("data: ", 1)[1]) for f in frames if f.startswith("event: n")]
    assert data == [{"v": 1}, {"v": 2}, {"v": 3}]
    assert frames[0].startswith("retry:") and frames[-1].startswith("event: bye")
    assert limit.open == 0


def test_similar_questions_fall_into_one_cluster():
    clusters = cluster_questions([("能开发票吗", 5), ("可以开发票吗", 3), ("发票能开吗", 1), ("几点发货", 2)])
    assert clusters[0].representative == "能开发票吗" and clusters[0].count >= 8
    assert any(c.questions == ["几点发货"] for c in clusters)


def _ticket(tid: str, reason: str, minute: int, **extra) -> HandoffTicket:
    return HandoffTicket(ticket_id=tid, session_id="s-" + tid, reason=reason,
                         created_at=datetime(2026, 11, 25, 3, minute, tzinfo=SH), **extra)


def test_queue_puts_the_most_urgent_first_then_the_oldest():
    queue = InMemoryHandoffQueue()
    queue.enqueue(_ticket("old-explicit", "explicit", 1))
    queue.enqueue(_ticket("presales", "explicit", 2, priority=1))
    queue.enqueue(_ticket("angry", "anger", 3))
    queue.enqueue(_ticket("later-explicit", "explicit", 4))
    (_, view), = queue_view(queue, now=datetime(2026, 11, 25, 4, 0, tzinfo=SH))
    assert [t["ticket_id"] for t in view["tickets"]] == ["angry", "presales", "old-explicit", "later-explicit"]
    assert [t["priority"] for t in view["tickets"]] == [0, 1, 2, 2]


def test_a_waiting_after_hours_ticket_is_still_a_handoff_for_the_widget():
    sessions, queue = InMemorySessionStore(600, 40), InMemoryHandoffQueue()
    now = datetime(2026, 11, 25, 3, 0, tzinfo=SH)
    queue.enqueue(_ticket("night", "explicit", 0, waiting=True))
    sessions.save(SessionContext(session_id="s-night", created_at=now, updated_at=now, handoff_ticket_id="night"))
    hours = AgentHours.parse("09:00-24:00")
    parts = dict(shopper_view("s-night", sessions, queue, hours, now=now))
    assert parts["state"]["in_handoff"] and parts["state"]["handoff"]["waiting"]
    assert parts["state"]["agent_available"] is False and parts["state"]["reply_expected"]
    queue.close("night", "shopper")
    assert dict(shopper_view("s-night", sessions, queue, hours, now=now))["state"]["in_handoff"] is False


# --- the real stack ------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 14, 0, tzinfo=SH)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def stack(demo_graph, settings, encoder, intent_classifier, emotion_scorer, redis_server,
          tmp_path_factory) -> Iterator[tuple]:
    s = settings.model_copy(update={"stream_max_s": 1.2, "stream_poll_s": 0.2})
    with engine_stack(s, demo_graph, encoder=encoder, classifier=intent_classifier, emotion=emotion_scorer,
                      redis_url=redis_server.url, events_db=tmp_path_factory.mktemp("console") / "events.sqlite3",
                      clock=Clock()) as st:
        # A second "worker": its own services and Redis connection, no engine, same Redis.
        other_client = redis.Redis.from_url(redis_server.url)
        config = api_config(s, {"redis_mode": "redis", "api_tokens": TOKENS, "json_logs": False,
                                "events_db": st.services.config.events_db,
                                "rate_session_burst": 1000, "rate_client_burst": 10000})
        other = build_services(s, config, driver=demo_graph, redis_client=other_client)
        yield st.http, st.services, other
        other_client.close()


def _chat(http, sid: str, message: str) -> dict:
    r = http.post("/v1/chat", json={"session_id": sid, "message": message, "channel": "web"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _frames(body: str) -> list[tuple[str, dict]]:
    out = []
    for frame in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.split("\n") if line.startswith(("event: ", "data: ")))
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_handoff_reaches_the_queue_of_another_worker_and_the_ticket_shows_products(stack):
    http, services, other = stack
    sid = "c-handoff"
    first = _chat(http, sid, "云裳碎花裙白底碎花M码还有几件")
    assert {"kind": "product", "id": "P1002"} in first["sources"]
    r = _chat(http, sid, "转人工")
    ticket_id = r["handoff"]["ticket_id"]
    (_, queue), = queue_view(other.handoffs)  # read by the other worker, from Redis
    mine = [t for t in queue["tickets"] if t["ticket_id"] == ticket_id]
    assert mine and mine[0]["status"] == "queued" and mine[0]["reason"] == "explicit"
    assert mine[0]["priority"] == ticket_priority(services.handoffs.get(ticket_id))
    detail = http.get(f"/v1/console/tickets/{ticket_id}", headers=AGENT).get_json()
    product = next(p for p in detail["products"] if p["product_id"] == "P1002")
    info = services.knowledge.product("P1002")
    assert product["name"] == info.display_name and product["price"] == info.price
    assert product["stock"] == sum(v.stock for v in services.knowledge.variants("P1002"))
    assert {"kind": "product", "id": "P1002"} in detail["sources"]
    assert len(detail["ticket"]["suggested_replies"]) >= 1

    stream = http.get("/v1/console/events", headers=AGENT)
    assert stream.mimetype == "text/event-stream"
    queued = [d for e, d in _frames(stream.get_data(as_text=True)) if e == "queue"]
    assert any(t["ticket_id"] == ticket_id for t in queued[0]["tickets"])
    assert http.get("/v1/console/events").status_code == 401


def test_shopper_stream_shows_the_agent_joining_and_replying(stack):
    http, _, _ = stack
    opened = _chat(http, "c-stream", "我要人工客服")
    sid = opened["session_id"]  # the id the server issued for this conversation (what the widget keeps)
    ticket_id = opened["handoff"]["ticket_id"]
    assert http.post(f"/v1/handoffs/{ticket_id}/claim", headers=AGENT).status_code == 200
    assert http.post(f"/v1/handoffs/{ticket_id}/reply", headers=AGENT, json={"text": "您好，我来帮您看看"}).status_code == 200
    body = http.get("/v1/chat/stream", headers={"X-Yeban-Session": sid}).get_data(as_text=True)
    frames = _frames(body)
    state = next(d for e, d in frames if e == "state")
    agent = next(d for e, d in frames if e == "agent")
    assert state["in_handoff"] and state["handoff"]["status"] == "claimed" and state["handoff"]["agent"] == "alice"
    assert [t["text"] for t in agent["turns"]] == ["您好，我来帮您看看"]
    assert http.post(f"/v1/handoffs/{ticket_id}/close", headers=AGENT).status_code == 200
    after = _frames(http.get("/v1/chat/stream", headers={"X-Yeban-Session": sid}).get_data(as_text=True))
    assert next(d for e, d in after if e == "state")["in_handoff"] is False
    assert http.get("/v1/chat/stream").status_code == 400


def test_try_a_question_uses_an_erased_throwaway_session(stack):
    http, services, _ = stack
    before = len(services.events.events())
    r = http.post("/v1/console/try", headers=OPERATOR, json={"message": "云裳碎花裙白底碎花M码还有几件"})
    assert r.status_code == 200
    body = r.get_json()
    (white_m,) = services.knowledge.variants("P1002", color="白底碎花", size="M")
    assert f"{white_m.stock} 件" in body["reply"]["reply"] and body["reply"]["intent"] == "stock_check"
    assert {"kind": "variant", "id": white_m.sku} in body["reply"]["sources"]
    assert any(e["type"] == "product" for e in body["reply"]["entities"])
    assert services.sessions.load(body["session_id"]) is None
    assert len(services.events.events()) == before
    assert http.post("/v1/console/try", headers=AGENT, json={"message": "hi"}).status_code == 403


def test_agent_answer_becomes_a_pending_faq_that_an_operator_discards_or_applies(stack):
    http, services, _ = stack
    proposal = {"question": "店铺支持开具电子发票吗", "answer": "支持的亲，下单后在订单详情页申请电子发票即可。"}
    r = http.post("/v1/console/faq", headers=AGENT, json=proposal)
    assert r.status_code == 201
    cs = r.get_json()
    assert cs["status"] == "pending" and [c["op"] for c in cs["changes"]] == ["created"]
    assert cs["changes"][0]["entity"] == "faq" and cs["author"] == "alice"
    listed = http.get("/v1/changesets", headers=OPERATOR).get_json()["change_sets"]
    assert listed[0]["id"] == cs["id"]
    discarded = http.post(f"/v1/changesets/{cs['id']}/discard", headers=OPERATOR).get_json()
    assert discarded["status"] == "discarded"
    assert http.post(f"/v1/changesets/{cs['id']}/apply", headers=OPERATOR).status_code == 409
    assert services.knowledge.faq(cs["changes"][0]["id"]) is None

    again = http.post("/v1/console/faq", headers=AGENT, json=proposal).get_json()
    applied = http.post(f"/v1/changesets/{again['id']}/apply", headers=OPERATOR).get_json()
    assert applied["status"] == "applied"
    faq = services.knowledge.faq(again["changes"][0]["id"])
    assert faq is not None and faq.answer == proposal["answer"]
    reply = _chat(http, "c-faq", "店铺支持开具电子发票吗")
    assert reply["reply"] == proposal["answer"]
    assert http.post(f"/v1/changesets/{again['id']}/rollback", headers=OPERATOR).get_json()["status"] == "rolled_back"


def test_unanswered_questions_are_clustered_for_operators(stack):
    http, _, _ = stack
    for n, text in enumerate(["阿巴阿巴咕噜咕噜", "阿巴阿巴咕噜咕噜呀", "咕噜咕噜阿巴阿巴"]):
        _chat(http, f"c-unanswered-{n}", text)
    q = "?from=2026-11-25T00:00:00%2B08:00&to=2026-11-26T00:00:00%2B08:00"
    clusters = http.get("/v1/console/unanswered" + q, headers=OPERATOR).get_json()["clusters"]
    top = clusters[0]
    assert top["count"] >= 2 and len(top["questions"]) >= 2
    assert http.get("/v1/console/unanswered" + q, headers=AGENT).status_code == 403
