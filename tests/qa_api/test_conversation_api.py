"""Chat, sessions, hand-offs and analytics over HTTP.

The chat engine here is a small stand-in defined in this file that implements
``dialog.ports.ChatEngine`` on the app's own stores (the real engine needs the
models); everything else is real: the stores, the SQLite event log, Redis.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dialog.ports import EventLog, HandoffQueue, SessionStore
from schema.conversation import (
    ChatReply,
    ConversationEvent,
    DialogState,
    HandoffInfo,
    HandoffTicket,
    SessionContext,
    Turn,
)
from tests.qa_api.conftest import ADMIN, AGENT, AGENT_BOB, OPERATOR

SH = ZoneInfo("Asia/Shanghai")


class StandInEngine:
    """Answers 有货 questions, hands off on 人工, stays silent while handed off."""

    def __init__(self, sessions: SessionStore, handoffs: HandoffQueue, events: EventLog) -> None:
        self.sessions, self.handoffs, self.events = sessions, handoffs, events
        self.calls: list[tuple[str, str, str | None, str | None]] = []

    def chat(self, session_id, message, channel=None, user_id=None) -> ChatReply:
        self.calls.append((session_id, message, channel, user_id))
        now = datetime.now(SH)
        ctx = self.sessions.load(session_id) or SessionContext(
            session_id=session_id, channel=channel, user_id=user_id, created_at=now, updated_at=now)
        ctx.history.append(Turn(role="shopper", text=message, at=now))
        handoff = None
        if ctx.state == DialogState.HANDOFF:
            self.handoffs.add_turn(ctx.handoff_ticket_id, ctx.history[-1])
            reply = ChatReply(reply="", intent="human_agent", confidence=1.0, state=ctx.state)
        elif "人工" in message:
            ticket = HandoffTicket(ticket_id=uuid.uuid4().hex[:12], session_id=session_id, reason="explicit",
                                   transcript=list(ctx.history), created_at=now)
            self.handoffs.enqueue(ticket)
            ctx.state, ctx.handoff_ticket_id = DialogState.HANDOFF, ticket.ticket_id
            handoff = HandoffInfo(ticket_id=ticket.ticket_id, reason="explicit", queued_at=now,
                                  agent_available=True, message="正在为您转接人工客服")
            reply = ChatReply(reply=handoff.message, intent="human_agent", confidence=0.99, state=ctx.state,
                              handoff=handoff)
        elif "有货" in message:
            ctx.state = DialogState.ANSWERED
            reply = ChatReply(reply="红色L码有货，库存23件。", intent="stock_check", confidence=0.93,
                              state=ctx.state, sources=[{"kind": "variant", "id": "SKU-1"}])
        else:
            reply = ChatReply(reply="抱歉，我没有理解您的问题。", intent="out_of_scope", confidence=0.3,
                              state=ctx.state)
        if reply.reply:
            ctx.history.append(Turn(role="bot", text=reply.reply, at=now, intent=reply.intent))
        self.sessions.save(ctx)
        self.events.record(ConversationEvent(
            session_id=session_id, at=now, message=message, intent=reply.intent, confidence=reply.confidence,
            state=reply.state.value, resolved=bool(reply.sources), fallback=reply.intent == "out_of_scope",
            handoff_reason=handoff.reason if handoff else None, latency_ms=5.0, channel=channel))
        return reply

    def transcript(self, session_id):
        return self.sessions.load(session_id)

    def erase(self, session_id):
        return self.sessions.delete(session_id)

    def agent_reply(self, ticket_id, agent, text):
        turn = Turn(role="agent", text=text, at=datetime.now(SH))
        ticket = self.handoffs.add_turn(ticket_id, turn)
        ctx = self.sessions.load(ticket.session_id)
        ctx.history.append(turn)
        self.sessions.save(ctx)
        return ticket

    def close_handoff(self, ticket_id, agent):
        ticket = self.handoffs.close(ticket_id, agent)
        ctx = self.sessions.load(ticket.session_id)
        ctx.state, ctx.handoff_ticket_id = DialogState.IDLE, None
        self.sessions.save(ctx)
        return ticket


def _wired(app):
    svc = app.extensions["yeban"]
    svc.engine = StandInEngine(svc.sessions, svc.handoffs, svc.events)
    return app, svc.engine


@pytest.fixture()
def client(make_app):
    app, _ = _wired(make_app())
    return app.test_client()


def _chat(client, message, session_id="s1", **extra):
    """Sends ``session_id`` as a client-chosen label: the server issues its own id for it (the reply's
    ``session_id``) and keeps one conversation per label for this client address."""
    return client.post("/v1/chat", json={"session_id": session_id, "message": message, **extra})


def _sid(response) -> str:
    return response.get_json()["session_id"]


# --- chat -------------------------------------------------------------------------
def test_chat_returns_the_engine_reply_as_json(make_app):
    app, engine = _wired(make_app())
    r = _chat(app.test_client(), "红色L码有货吗", channel="web", user_id="u1")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    assert "红色L码有货" in r.get_data(as_text=True)  # Chinese is not \u-escaped
    reply = ChatReply.model_validate(r.get_json())
    assert reply.intent == "stock_check" and reply.state == DialogState.ANSWERED
    assert reply.sources == [{"kind": "variant", "id": "SKU-1"}]
    assert reply.session_id.startswith("s_") and len(reply.session_id) >= 24
    assert engine.calls == [(reply.session_id, "红色L码有货吗", "web", "u1")]


def test_engine_passed_to_create_app_is_used(make_app, settings, tmp_path):
    from qa_api.app import create_app
    from qa_api.config import api_config
    from qa_api.services import build_services

    services = build_services(settings, api_config(settings, {"redis_mode": "memory", "json_logs": False,
                                                             "events_db": tmp_path / "e.db"}),
                              with_graph=False)
    engine = StandInEngine(services.sessions, services.handoffs, services.events)
    app = create_app(settings=settings, services=services, engine=engine)
    try:
        assert app.extensions["yeban"].engine is engine
        assert _chat(app.test_client(), "有货吗").get_json()["intent"] == "stock_check"
    finally:
        services.close()


@pytest.mark.parametrize(("body", "field"), [
    ({"session_id": "s1"}, "message"),
    ({"session_id": "s1", "message": "x" * 501}, "message"),
    ({"session_id": "s1", "message": 12}, "message"),
    ({"session_id": 7, "message": "有货吗"}, "session_id"),
    ({"session_id": "s1", "message": "   "}, "message"),
    ({"session_id": "bad id/../x", "message": "hi"}, "session_id"),
    ({"session_id": "s1", "message": "hi", "channel": ["web"]}, "channel"),
])
def test_chat_validation_names_the_field(client, body, field):
    r = client.post("/v1/chat", json=body)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert error["message"].startswith(field)


def test_message_of_exactly_500_characters_is_accepted(client):
    assert _chat(client, "有货" + "吗" * 498).status_code == 200


@pytest.mark.parametrize(("data", "content_type"), [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("session_id=s1&message=hi", "application/x-www-form-urlencoded"),
])
def test_malformed_bodies_are_400_json(client, data, content_type):
    r = client.post("/v1/chat", data=data, content_type=content_type)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == "body"


def test_chat_without_engine_is_503_json(make_app):
    r = _chat(make_app().test_client(), "有货吗")
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "engine_unavailable"


# --- rate limits -------------------------------------------------------------------
def test_session_rate_limit_answers_429_with_retry_after(make_app):
    app, _ = _wired(make_app(rate_session_burst=3, rate_session_per_s=0.01))
    c = app.test_client()
    assert [_chat(c, "有货吗").status_code for _ in range(3)] == [200, 200, 200]
    r = _chat(c, "有货吗")
    assert r.status_code == 429
    assert r.get_json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert _chat(c, "有货吗", session_id="other").status_code == 200
    assert b'yeban_rate_limited_total{scope="session"} 1.0' in c.get("/metrics").data


def test_client_rate_limit_covers_all_sessions_of_one_address(make_app):
    app, _ = _wired(make_app(rate_client_burst=4, rate_client_per_s=0.01))
    c = app.test_client()
    codes = [_chat(c, "有货吗", session_id=f"s{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    other = c.post("/v1/chat", json={"session_id": "x", "message": "有货吗"},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_rate_limit_holds_across_workers_sharing_redis(make_app, redis_client, redis_server):
    """Two apps (like two gunicorn workers) share one Redis bucket per session."""
    apps = [_wired(make_app(redis_mode="redis", redis_url=redis_server.url, rate_session_burst=4,
                            rate_session_per_s=0.01))[0] for _ in range(2)]
    clients = [a.test_client() for a in apps]
    responses = [_chat(clients[i % 2], "有货吗", session_id="shared") for i in range(6)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429, 429]
    # The same Redis also carries the session (and the alias of "shared") across the two "workers".
    assert len({_sid(r) for r in responses[:4]}) == 1
    transcript = clients[1].get(f"/v1/sessions/{_sid(responses[0])}", headers=AGENT).get_json()
    assert len(transcript["history"]) == 8


# --- sessions ------------------------------------------------------------------------
def test_transcript_needs_an_agent_and_404s_as_json(client):
    sid = _sid(_chat(client, "有货吗"))
    assert client.get(f"/v1/sessions/{sid}").status_code == 401
    r = client.get(f"/v1/sessions/{sid}", headers=AGENT)
    assert r.status_code == 200
    ctx = SessionContext.model_validate(r.get_json())
    assert [t.role for t in ctx.history] == ["shopper", "bot"]
    missing = client.get("/v1/sessions/nobody", headers=AGENT)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "session_not_found"


def test_erasure_removes_session_tickets_and_events(make_app):
    app, _ = _wired(make_app())
    c = app.test_client()
    svc = app.extensions["yeban"]
    erase = _sid(_chat(c, "有货吗", session_id="erase-me"))
    assert _sid(_chat(c, "转人工", session_id="erase-me")) == erase
    keep = _sid(_chat(c, "有货吗", session_id="keep-me"))
    assert c.delete(f"/v1/sessions/{erase}", headers=AGENT).status_code == 403
    r = c.delete(f"/v1/sessions/{erase}", headers=OPERATOR)
    assert r.status_code == 200
    assert r.get_json() == {"session_id": erase, "session_deleted": True, "tickets_deleted": 1,
                            "events_deleted": 2, "other_deleted": {}}
    assert svc.sessions.load(erase) is None
    assert svc.handoffs.list() == []
    assert {e.session_id for e in svc.events.events()} == {keep}
    assert c.delete(f"/v1/sessions/{erase}", headers=OPERATOR).status_code == 404


# --- hand-offs --------------------------------------------------------------------------
def test_handoff_claim_reply_close_flow(client):
    opened_response = _chat(client, "我要转人工")
    opened = opened_response.get_json()
    ticket_id = opened["handoff"]["ticket_id"]
    assert opened["state"] == "handoff"

    listed = client.get("/v1/handoffs?status=queued", headers=AGENT).get_json()["tickets"]
    assert [t["ticket_id"] for t in listed] == [ticket_id]
    assert client.get(f"/v1/handoffs/{ticket_id}", headers=AGENT).get_json()["reason"] == "explicit"

    early = client.post(f"/v1/handoffs/{ticket_id}/reply", json={"text": "您好"}, headers=AGENT)
    assert early.status_code == 409 and "claimed" in early.get_json()["error"]["message"]

    claimed = client.post(f"/v1/handoffs/{ticket_id}/claim", headers=AGENT).get_json()
    assert (claimed["status"], claimed["claimed_by"]) == ("claimed", "alice")
    again = client.post(f"/v1/handoffs/{ticket_id}/claim", headers=AGENT_BOB)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "ticket_state"
    not_mine = client.post(f"/v1/handoffs/{ticket_id}/reply", json={"text": "我来"}, headers=AGENT_BOB)
    assert not_mine.status_code == 409

    # While handed off, the shopper's messages go to the ticket and the bot stays silent.
    silent = _chat(client, "还在吗").get_json()
    assert silent["reply"] == "" and silent["state"] == "handoff"

    replied = client.post(f"/v1/handoffs/{ticket_id}/reply", json={"text": "您好，我是客服小王"}, headers=AGENT)
    assert replied.status_code == 200
    assert [t["role"] for t in replied.get_json()["transcript"]][-2:] == ["shopper", "agent"]

    closed = client.post(f"/v1/handoffs/{ticket_id}/close", headers=AGENT).get_json()
    assert closed["status"] == "closed"
    assert client.post(f"/v1/handoffs/{ticket_id}/close", headers=AGENT).status_code == 409
    assert _chat(client, "有货吗").get_json()["state"] == "answered"  # the bot is back
    history = client.get(f"/v1/sessions/{_sid(opened_response)}", headers=AGENT).get_json()["history"]
    assert "您好，我是客服小王" in [t["text"] for t in history]


def test_handoff_errors_are_json(client):
    assert client.post("/v1/handoffs/nope/claim", headers=AGENT).get_json()["error"]["code"] == \
        "ticket_not_found"
    bad = client.get("/v1/handoffs?status=waiting", headers=AGENT)
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "status"
    empty = client.post("/v1/handoffs/x/reply", json={"text": ""}, headers=AGENT)
    assert empty.status_code == 400 and empty.get_json()["error"]["field"] == "text"


def test_admin_can_close_a_ticket_another_agent_holds(client):
    ticket_id = _chat(client, "人工").get_json()["handoff"]["ticket_id"]
    client.post(f"/v1/handoffs/{ticket_id}/claim", headers=AGENT)
    assert client.post(f"/v1/handoffs/{ticket_id}/close", headers=AGENT_BOB).status_code == 409
    closed = client.post(f"/v1/handoffs/{ticket_id}/close", headers=ADMIN)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"


# --- analytics and metrics ------------------------------------------------------------------
def test_analytics_summary_reflects_recorded_chats(client):
    for sid, text in [("a", "有货吗"), ("a", "随便问问"), ("b", "转人工"), ("c", "随便问问"), ("c", "随便问问！")]:
        _chat(client, text, session_id=sid)
    assert client.get("/v1/analytics/summary", headers=AGENT).status_code == 403
    r = client.get("/v1/analytics/summary", headers=OPERATOR)
    assert r.status_code == 200
    s = r.get_json()
    assert s["messages"] == 5 and s["sessions"] == 3
    assert s["by_intent"] == {"out_of_scope": 3, "stock_check": 1, "human_agent": 1}
    assert s["fallback_rate"] == 0.6 and s["auto_resolution_rate"] == 0.2
    assert s["handoff_reasons"] == {"explicit": 1} and s["handoff_rate"] == pytest.approx(0.3333)
    assert s["top_unanswered"][0] == {"text": "随便问问", "count": 3}
    assert sum(s["by_hour"]) == 5


def test_analytics_window_and_bad_dates(client):
    _chat(client, "有货吗")
    old = client.get("/v1/analytics/summary?from=2020-01-01&to=2020-02-01T00:00:00", headers=OPERATOR)
    assert old.status_code == 200 and old.get_json()["messages"] == 0
    assert old.get_json()["start"] == "2020-01-01T00:00:00+08:00"
    bad = client.get("/v1/analytics/summary?from=yesterday", headers=OPERATOR)
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "from"
    # Found by schemathesis: a number is not a time, and a window with from >= to is empty (the schema
    # allows it, and the half-open window [from, to) holds nothing), on every windowed endpoint.
    for path in ("/v1/analytics/summary", "/v1/analytics/night-shift", "/v1/console/unanswered"):
        backwards = client.get(f"{path}?from=2021-01-02&to=2021-01-01", headers=OPERATOR)
        assert backwards.status_code == 200, (path, backwards.get_json())
    assert backwards.get_json() == {"clusters": []}
    summary = client.get("/v1/analytics/summary?from=2021-01-02&to=2021-01-01", headers=OPERATOR).get_json()
    assert summary["messages"] == 0 and summary["start"] == summary["end"] == "2021-01-02T00:00:00+08:00"
    ancient = client.get("/v1/analytics/summary?to=0001-01-01T00:00:00%2B08:00", headers=OPERATOR)
    assert ancient.status_code == 200 and ancient.get_json()["messages"] == 0
    number = client.get("/v1/analytics/summary?to=0.5", headers=OPERATOR)
    assert number.status_code == 400 and number.get_json()["error"]["field"] == "to"
    empty = client.get("/v1/analytics/summary?from=2021-01-01&to=2021-01-01", headers=OPERATOR)
    assert empty.status_code == 200 and empty.get_json()["messages"] == 0


def test_metrics_count_requests_intents_handoffs_and_latency(client):
    _chat(client, "有货吗")
    _chat(client, "有货吗")
    _chat(client, "人工")
    client.post("/v1/chat", json={})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'yeban_http_requests_total{endpoint="/v1/chat",method="POST",status="200"} 3.0' in text
    assert 'yeban_http_requests_total{endpoint="/v1/chat",method="POST",status="400"} 1.0' in text
    assert 'yeban_intents_total{intent="stock_check"} 2.0' in text
    assert 'yeban_handoffs_total{reason="explicit"} 1.0' in text
    assert "yeban_chat_latency_seconds_count 3.0" in text


def test_each_app_has_its_own_metrics_registry(make_app):
    first, _ = _wired(make_app())
    second, _ = _wired(make_app())
    _chat(first.test_client(), "有货吗")
    assert 'intent="stock_check"' in first.test_client().get("/metrics").get_data(as_text=True)
    assert 'intent="stock_check"' not in second.test_client().get("/metrics").get_data(as_text=True)


def test_erasure_reaches_every_registered_store(make_app):
    """Stores added later (leads) register in ``session_erasers`` and are erased with the session."""

    class Leads:
        def __init__(self) -> None:
            self.rows = [("a", "lead-1"), ("a", "lead-2"), ("b", "lead-3")]

        def delete_for_session(self, session_id: str) -> int:
            before = len(self.rows)
            self.rows = [r for r in self.rows if r[0] != session_id]
            return before - len(self.rows)

    app, _ = _wired(make_app())
    svc = app.extensions["yeban"]
    leads = svc.session_erasers["leads"] = Leads()
    c = app.test_client()
    sid = _sid(_chat(c, "有货吗", session_id="lead-shopper"))
    leads.rows = [(sid, "lead-1"), (sid, "lead-2"), ("other", "lead-3")]
    r = c.delete(f"/v1/sessions/{sid}", headers=OPERATOR)
    assert r.get_json()["other_deleted"] == {"leads": 2}
    assert leads.rows == [("other", "lead-3")]
