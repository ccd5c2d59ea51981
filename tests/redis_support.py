"""Redis fixtures: the project's real Redis (``ops.redis``) on a test
port with its data under ``var/test/redis``, started once per session.

Imported by the conftest files of the test folders that need Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from ops.redis import LocalRedis, RedisServerConfig
from schema.settings import PROJECT_ROOT
from tests import ports

TEST_REDIS_PORT = ports.REDIS
TEST_REDIS_HOME = PROJECT_ROOT / "var" / "test" / "redis"


def redis_test_config() -> RedisServerConfig:
    return RedisServerConfig(home=TEST_REDIS_HOME, log_file=PROJECT_ROOT / "var" / "test" / "log" / "redis.log",
                             port=TEST_REDIS_PORT)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedis]:
    server = LocalRedis(redis_test_config())
    was_running = server.status().running
    server.start()
    yield server
    if not was_running:
        server.stop()


@pytest.fixture()
def redis_client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture()
def redis_prefix() -> str:
    """A key prefix of one test, so parallel tests never share keys."""
    return f"test:{uuid.uuid4().hex[:8]}:"
