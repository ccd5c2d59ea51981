"""Which state backend the app picks, and that the services' stores are the Redis ones when it does."""

from __future__ import annotations

import pytest

from dialog.handoff_queue import InMemoryHandoffQueue, RedisHandoffQueue
from dialog.session_store import InMemorySessionStore, RedisSessionStore
from qa_api.config import api_config
from qa_api.services import BackendError, build_services, resolve_redis_url
from tests.redis_support import TEST_REDIS_HOME, TEST_REDIS_PORT


def test_auto_mode_uses_the_running_local_redis(settings, redis_server, tmp_path):
    config = api_config(settings, {"redis_dir": TEST_REDIS_HOME, "redis_port": TEST_REDIS_PORT,
                                   "events_db": tmp_path / "e.db"})
    assert resolve_redis_url(config) == redis_server.url
    services = build_services(settings, config, with_graph=False)
    try:
        assert services.backend == "redis"
        assert isinstance(services.sessions, RedisSessionStore)
        assert isinstance(services.handoffs, RedisHandoffQueue)
        assert services.sessions.prefix == "yeban:session:"
    finally:
        services.close()


def test_auto_mode_falls_back_to_memory_without_redis(settings, tmp_path):
    config = api_config(settings, {"redis_dir": tmp_path / "no-redis", "events_db": tmp_path / "e.db"})
    services = build_services(settings, config, with_graph=False)
    assert services.backend == "memory"
    assert isinstance(services.sessions, InMemorySessionStore)
    assert isinstance(services.handoffs, InMemoryHandoffQueue)


def test_memory_mode_ignores_a_configured_redis(settings, redis_server):
    assert resolve_redis_url(api_config(settings, {"redis_mode": "memory", "redis_url": redis_server.url})) \
        is None


def test_redis_mode_without_a_server_fails_clearly(settings, tmp_path):
    config = api_config(settings, {"redis_mode": "redis", "redis_dir": tmp_path / "none"})
    with pytest.raises(BackendError, match="no Redis"):
        resolve_redis_url(config)
    unreachable = api_config(settings, {"redis_mode": "redis", "redis_url": "redis://127.0.0.1:1/0"})
    with pytest.raises(BackendError, match="not reachable"):
        build_services(settings, unreachable, with_graph=False)


def test_config_overrides_are_checked(settings):
    with pytest.raises(ValueError, match="unknown API config keys: nonsense"):
        api_config(settings, {"nonsense": 1})
    with pytest.raises(ValueError, match="redis_mode"):
        api_config(settings, {"redis_mode": "sometimes"})
    config = api_config(settings, {"RATE_SESSION_BURST": 7})
    assert config.rate_session_burst == 7
    assert config.events_db == settings.var_dir / "events.sqlite3"
    assert config.redis_server.home == settings.var_dir / "redis"
