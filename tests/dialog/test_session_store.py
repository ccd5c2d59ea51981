"""Session stores: round trip, TTL, bounded history, erasure, isolation; in memory and on real Redis."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from dialog.session_store import InMemorySessionStore, RedisSessionStore
from schema.conversation import DialogState, SessionContext, Turn

NOW = datetime(2025, 6, 1, 23, 30, tzinfo=UTC)


def _context(session_id: str = "s1", turns: int = 0) -> SessionContext:
    return SessionContext(
        session_id=session_id, created_at=NOW, updated_at=NOW, state=DialogState.AWAIT_ORDER_ID,
        last_product_id="P1001", last_variant_attrs={"color": "红色", "size": "L"},
        history=[Turn(role="shopper", text=f"第{i}句", at=NOW) for i in range(turns)],
    )


@pytest.fixture(params=["memory", "redis"])
def store(request, redis_client, redis_prefix):
    if request.param == "memory":
        return InMemorySessionStore(ttl_s=60, max_history=5)
    return RedisSessionStore(redis_client, ttl_s=60, max_history=5, prefix=redis_prefix)


def test_round_trip_keeps_every_field(store):
    ctx = _context(turns=2)
    store.save(ctx)
    loaded = store.load("s1")
    assert loaded == ctx
    assert loaded is not ctx
    assert store.load("unknown") is None


def test_loaded_copy_is_independent_of_the_stored_one(store):
    store.save(_context(turns=1))
    first = store.load("s1")
    first.history.append(Turn(role="bot", text="改了", at=NOW))
    first.state = DialogState.HANDOFF
    again = store.load("s1")
    assert len(again.history) == 1
    assert again.state == DialogState.AWAIT_ORDER_ID


def test_history_is_trimmed_to_the_newest_turns(store):
    store.save(_context(turns=12))
    loaded = store.load("s1")
    assert [t.text for t in loaded.history] == ["第7句", "第8句", "第9句", "第10句", "第11句"]


def test_delete_erases_and_reports(store):
    store.save(_context("gone"))
    store.save(_context("kept"))
    assert store.delete("gone") is True
    assert store.load("gone") is None
    assert store.delete("gone") is False
    assert store.load("kept") is not None


def test_in_memory_ttl_expires_and_save_renews():
    clock = [1000.0]
    store = InMemorySessionStore(ttl_s=30, max_history=5, clock=lambda: clock[0])
    store.save(_context())
    clock[0] += 29
    assert store.load("s1") is not None
    store.save(_context())  # renews the TTL
    clock[0] += 29
    assert store.load("s1") is not None
    clock[0] += 2
    assert store.load("s1") is None
    assert len(store) == 0


def test_redis_ttl_is_set_and_expires(redis_client, redis_prefix):
    store = RedisSessionStore(redis_client, ttl_s=1, max_history=5, prefix=redis_prefix)
    store.save(_context())
    assert 0 < redis_client.pttl(redis_prefix + "s1") <= 1000
    assert store.load("s1") is not None
    time.sleep(1.3)
    assert store.load("s1") is None


def test_redis_stores_plain_json_under_the_prefix(redis_client, redis_prefix):
    store = RedisSessionStore(redis_client, ttl_s=60, prefix=redis_prefix)
    store.save(_context())
    raw = redis_client.get(redis_prefix + "s1")
    assert SessionContext.model_validate_json(raw).last_variant_attrs == {"color": "红色", "size": "L"}
    assert "红色".encode() in raw


def test_two_store_instances_share_sessions_like_two_workers(redis_client, redis_prefix):
    worker_a = RedisSessionStore(redis_client, ttl_s=60, prefix=redis_prefix)
    worker_b = RedisSessionStore(redis_client, ttl_s=60, prefix=redis_prefix)
    worker_a.save(_context(turns=3))
    assert len(worker_b.load("s1").history) == 3


def test_in_memory_store_is_thread_safe():
    store = InMemorySessionStore(ttl_s=60, max_history=50)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                store.save(_context(f"s{n}-{i % 10}", turns=i % 7))
                assert store.load(f"s{n}-{i % 10}") is not None
        except BaseException as e:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store) == 80


def test_invalid_bounds_are_rejected():
    with pytest.raises(ValueError):
        InMemorySessionStore(ttl_s=0)
    with pytest.raises(ValueError):
        InMemorySessionStore(max_history=0)
