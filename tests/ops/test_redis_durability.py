"""Nothing lost when Redis dies: sessions and hand-off tickets written more than a
second before a ``kill -9`` of the real server are there after a restart (append-only file)."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import pytest
import redis

from dialog.handoff_queue import RedisHandoffQueue
from dialog.session_store import RedisSessionStore
from ops.errors import RedisLaunchError
from ops.processes import gone
from ops.redis import LocalRedis, RedisServerConfig
from schema.conversation import DialogState, HandoffTicket, SessionContext, Turn
from tests import ports


@pytest.fixture()
def scratch(tmp_path):
    server = LocalRedis(RedisServerConfig(home=tmp_path / "redis", log_file=tmp_path / "log" / "redis.log",
                                          port=ports.REDIS_SCRATCH))
    yield server
    server.stop()


def _kill9(server: LocalRedis) -> None:
    pid = server.status().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    while not gone(pid):
        time.sleep(0.02)


def test_sessions_and_tickets_survive_kill_9(scratch):
    url = scratch.start().url
    client = redis.Redis.from_url(url)
    sessions = RedisSessionStore(client, ttl_s=1800, prefix="t:session:")
    tickets = RedisHandoffQueue(client, prefix="t:handoff:")
    now = datetime.now(UTC)
    for i in range(50):
        sessions.save(SessionContext(session_id=f"s{i}", state=DialogState.HANDOFF, created_at=now, updated_at=now,
                                     last_product_id=f"P{i}"))
        tickets.enqueue(HandoffTicket(ticket_id=f"T{i}", session_id=f"s{i}", reason="explicit", created_at=now,
                                      transcript=[Turn(role="shopper", text="转人工", at=now)]))
    tickets.claim("T7", "gina")
    time.sleep(1.5)  # appendfsync everysec: what is older than a second is on disk
    client.close()
    _kill9(scratch)
    assert not scratch.status().running
    assert (scratch.config.home / "appendonly.aof").stat().st_size > 0

    client = redis.Redis.from_url(scratch.start().url)
    try:
        sessions = RedisSessionStore(client, ttl_s=1800, prefix="t:session:")
        tickets = RedisHandoffQueue(client, prefix="t:handoff:")
        assert all(sessions.load(f"s{i}").last_product_id == f"P{i}" for i in range(50))
        assert {t.ticket_id for t in tickets.list("queued")} == {f"T{i}" for i in range(50)} - {"T7"}
        assert tickets.get("T7").claimed_by == "gina"
        assert client.ttl("t:session:s3") > 1700  # expiry times survive too
    finally:
        client.close()


def test_server_runs_with_the_append_only_file(scratch):
    client = redis.Redis.from_url(scratch.start().url)
    try:
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    finally:
        client.close()


def test_unknown_fsync_policy_is_refused(tmp_path):
    with pytest.raises(RedisLaunchError, match="redis_appendfsync must be one of always, everysec"):
        RedisServerConfig(home=tmp_path, log_file=tmp_path / "r.log", appendfsync="no")
