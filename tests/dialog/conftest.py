"""Fixtures for the dialogue tests: the real Redis (see ``tests/redis_support.py``)."""

from tests.redis_support import redis_client, redis_prefix, redis_server  # noqa: F401
