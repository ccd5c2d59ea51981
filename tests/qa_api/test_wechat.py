"""The WeChat channel over HTTP with real XML payloads: URL verification, signature checks
(403 on a bad one), passive replies from the real engine (demo store in Neo4j, e5 models,
Redis sessions), a non-text message answered politely, WeChat's retries answered once,
a slow answer and an agent's reply sent through the (recording) customer-service sender,
and the channel recorded on every event."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from defusedxml.ElementTree import fromstring
from pydantic import SecretStr

from qa_api.blueprints.wechat import CHANNEL_KEY
from qa_api.channels.wechat import (
    NON_TEXT_REPLY,
    WeChatMessageError,
    check_signature,
    parse_message,
    session_id_for,
    signature,
    text_reply,
)
from tests.qa_api.conftest import AGENT, engine_stack

SH = ZoneInfo("Asia/Shanghai")
WX_TOKEN = "wx-test-token-7c1f"
WX_SECRET = "wx-app-secret-do-not-log-91ab"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
ACCOUNT = "gh_0123456789ab"


class RecordingSender:
    """Collects what would go through the customer-service API."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.event = threading.Event()

    def send_text(self, openid: str, text: str) -> None:
        self.sent.append((openid, text))
        self.event.set()


def signed(timestamp: str = "1764590000", nonce: str = "183720", token: str = WX_TOKEN) -> str:
    return f"signature={signature(token, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"


def text_xml(content: str, msg_id: str, openid: str = OPENID) -> bytes:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>1764590000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>").encode()


IMAGE_XML = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
             "</FromUserName><CreateTime>1764590100</CreateTime><MsgType><![CDATA[image]]></MsgType>"
             "<PicUrl><![CDATA[http://mmbiz.qpic.cn/example.jpg]]></PicUrl><MediaId><![CDATA[media_id_1]]>"
             "</MediaId><MsgId>24412345678901234</MsgId></xml>").encode()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 14, 0, tzinfo=SH)

    def __call__(self) -> datetime:
        return self.now


# --- the protocol pieces, no server ---------------------------------------------------------------
def test_signature_is_sha1_of_sorted_parts():
    expected = hashlib.sha1("".join(sorted([WX_TOKEN, "1764590000", "183720"])).encode()).hexdigest()
    assert signature(WX_TOKEN, "1764590000", "183720") == expected
    assert check_signature(WX_TOKEN, expected, "1764590000", "183720")
    assert not check_signature(WX_TOKEN, expected, "1764590001", "183720")
    assert not check_signature(WX_TOKEN, None, "1764590000", "183720")


def test_parse_rejects_entities_and_names_missing_fields():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<xml><Content>&b;</Content></xml>")
    with pytest.raises(WeChatMessageError, match="not acceptable XML"):
        parse_message(bomb)
    with pytest.raises(WeChatMessageError, match="FromUserName"):
        parse_message(b"<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>")
    msg = parse_message(text_xml("你好", "1"))
    assert msg.msg_type == "text" and msg.from_user == OPENID and msg.content == "你好"
    reply = parse_message(text_reply(msg, "价格 a]]>b <b>&amp;").encode())  # CDATA end inside the text
    assert reply.content == "价格 a]]>b <b>&amp;" and reply.from_user == ACCOUNT and reply.to_user == OPENID


# --- over HTTP with the real engine ------------------------------------------------------------------
@pytest.fixture(scope="module")
def wechat(demo_graph, settings, encoder, intent_classifier, emotion_scorer, redis_server,
           tmp_path_factory) -> Iterator[tuple]:
    wx_settings = settings.model_copy(update={"wechat_token": SecretStr(WX_TOKEN), "wechat_app_id": "wx-demo",
                                              "wechat_app_secret": SecretStr(WX_SECRET)})
    clock = Clock()
    with engine_stack(wx_settings, demo_graph, encoder=encoder, classifier=intent_classifier,
                      emotion=emotion_scorer, redis_url=redis_server.url,
                      events_db=tmp_path_factory.mktemp("wx") / "events.sqlite3", clock=clock) as st:
        sender = RecordingSender()
        st.app.extensions[CHANNEL_KEY].sender = sender
        yield st.app, st.http, st.services, sender, clock
        st.app.extensions[CHANNEL_KEY].close()


def _reply_content(body: bytes) -> tuple[str, str, str]:
    root = fromstring(body)
    return root.findtext("ToUserName"), root.findtext("MsgType"), root.findtext("Content")


def test_url_verification_echoes_only_when_signed(wechat):
    _, http, *_ = wechat
    ok = http.get(f"/wechat?{signed()}&echostr=8234612769831")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "8234612769831"
    bad = http.get(f"/wechat?{signed(token='someone-else')}&echostr=8234612769831")
    assert bad.status_code == 403 and bad.get_json()["error"]["code"] == "bad_signature"
    assert http.get("/wechat?echostr=1").status_code == 403


def test_text_message_gets_a_passive_reply_from_the_graph(wechat, caplog):
    _, http, services, _, _ = wechat
    kg = services.knowledge
    (white_m,) = kg.variants("P1002", color="白底碎花", size="M")
    caplog.set_level(logging.DEBUG)
    r = http.post(f"/wechat?{signed()}", data=text_xml("云裳碎花裙白底碎花M码还有几件", "24400000000000001"),
                  content_type="text/xml")
    assert r.status_code == 200 and r.mimetype == "application/xml"
    to, msg_type, content = _reply_content(r.data)
    assert to == OPENID and msg_type == "text" and f"{white_m.stock} 件" in content
    ctx = services.sessions.load(session_id_for("wx-demo", OPENID))
    assert ctx is not None and ctx.channel == "wechat"
    assert WX_SECRET not in caplog.text and WX_TOKEN not in caplog.text and OPENID not in caplog.text


def test_bad_signature_on_a_message_is_refused_before_the_engine(wechat):
    _, http, services, _, _ = wechat
    before = len(services.events.events())
    forged = f"signature={signature(WX_TOKEN, '1764590000', '999')}&timestamp=1764590000&nonce=998"
    r = http.post(f"/wechat?{forged}",
                  data=text_xml("可以指定发顺丰吗", "24400000000000002"), content_type="text/xml")
    assert r.status_code == 403
    assert len(services.events.events()) == before


def test_non_text_message_is_answered_politely(wechat):
    _, http, *_ = wechat
    r = http.post(f"/wechat?{signed()}", data=IMAGE_XML, content_type="text/xml")
    to, msg_type, content = _reply_content(r.data)
    assert r.status_code == 200 and to == OPENID and content == NON_TEXT_REPLY


def test_malformed_xml_is_a_400_naming_the_body(wechat):
    _, http, *_ = wechat
    r = http.post(f"/wechat?{signed()}", data=b"<xml><ToUserName>", content_type="text/xml")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "body"


def test_retries_of_one_message_are_answered_once(wechat):
    _, http, services, _, _ = wechat
    xml = text_xml("可以指定发顺丰吗", "24400000000000003", openid="oRetry_0001")
    first = http.post(f"/wechat?{signed()}", data=xml, content_type="text/xml")
    retry = http.post(f"/wechat?{signed()}", data=xml, content_type="text/xml")
    assert first.data.startswith(b"<xml>") and retry.data == b"success"
    sid = session_id_for("wx-demo", "oRetry_0001")
    assert [e.message for e in services.events.events() if e.session_id == sid] == ["可以指定发顺丰吗"]


def test_slow_answer_goes_through_the_sender_and_every_event_names_the_channel(wechat):
    app, http, services, sender, _ = wechat
    channel = app.extensions[CHANNEL_KEY]
    sender.sent.clear()
    sender.event.clear()
    channel.reply_budget_s = 0.001  # the engine cannot answer this fast: the window is missed
    try:
        r = http.post(f"/wechat?{signed()}", data=text_xml("可以指定发顺丰吗", "24400000000000004",
                                                         openid="oSlow_0001"), content_type="text/xml")
    finally:
        channel.reply_budget_s = 4.0
    assert r.data == b"success"
    assert sender.event.wait(30)
    assert sender.sent[0][0] == "oSlow_0001" and sender.sent[0][1]
    since = datetime.now(SH) - timedelta(days=3650)
    wx_events = [e for e in services.events.events(since) if e.session_id.startswith("wx-")]
    assert wx_events and all(e.channel == "wechat" for e in wx_events)


def test_agent_reply_reaches_a_wechat_shopper_through_the_sender(wechat):
    _, http, services, sender, _ = wechat
    openid = "oHuman_0001"
    r = http.post(f"/wechat?{signed()}", data=text_xml("转人工", "24400000000000005", openid=openid),
                  content_type="text/xml")
    assert r.status_code == 200
    ctx = services.sessions.load(session_id_for("wx-demo", openid))
    assert ctx.handoff_ticket_id
    ticket_id = ctx.handoff_ticket_id
    assert http.post(f"/v1/handoffs/{ticket_id}/claim", headers=AGENT).status_code == 200
    sender.sent.clear()
    assert http.post(f"/v1/handoffs/{ticket_id}/reply", headers=AGENT,
                     json={"text": "您好，我是客服小王，马上为您处理。"}).status_code == 200
    deadline = time.monotonic() + 5
    while not sender.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sender.sent == [(openid, "您好，我是客服小王，马上为您处理。")]
