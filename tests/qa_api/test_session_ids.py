"""Server-issued session ids: issued when missing, kept when issued, replaced when made up."""

from __future__ import annotations

from dialog.session_store import InMemorySessionStore
from qa_api.session_ids import InMemoryAliases, RedisAliases, SessionIds, alias_key, new_session_id
from tests.qa_api.test_conversation_api import StandInEngine


def test_new_ids_are_long_random_and_url_safe():
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("s_") and len(i) == 26 and i[2:].replace("-", "").replace("_", "").isalnum()
               for i in ids)


def test_resolve_issues_keeps_and_aliases():
    sessions = InMemorySessionStore()
    ids = SessionIds(sessions, InMemoryAliases(ttl_s=60))
    fresh = ids.resolve(None, "10.0.0.1")
    assert fresh.startswith("s_")
    made_up = ids.resolve("user-42", "10.0.0.1")
    assert made_up.startswith("s_") and made_up != "user-42"
    assert ids.resolve("user-42", "10.0.0.1") == made_up  # the same client keeps one conversation
    assert ids.resolve("user-42", "10.0.0.2") not in (made_up, "user-42")  # anyone else gets their own


def test_redis_aliases_are_shared_and_hashed(redis_client, redis_prefix):
    a = RedisAliases(redis_client, ttl_s=60, prefix=redis_prefix)
    b = RedisAliases(redis_client, ttl_s=60, prefix=redis_prefix)
    key = alias_key("10.0.0.1", "user-42")
    first = a.bind(key, new_session_id)
    assert b.bind(key, new_session_id) == first
    assert all(b"user-42" not in k for k in redis_client.keys(redis_prefix + "*"))


def test_chat_without_session_id_gets_one_and_continues_with_it(make_app):
    app = make_app()
    svc = app.extensions["yeban"]
    svc.engine = StandInEngine(svc.sessions, svc.handoffs, svc.events)
    c = app.test_client()
    first = c.post("/v1/chat", json={"message": "有货吗"}).get_json()
    sid = first["session_id"]
    assert sid.startswith("s_")
    second = c.post("/v1/chat", json={"session_id": sid, "message": "转人工"}).get_json()
    assert second["session_id"] == sid
    assert len(svc.sessions.load(sid).history) == 4
