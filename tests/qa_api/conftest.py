"""Fixtures for the API tests: the real Redis (``tests/redis_support.py``) and an
app factory whose apps keep their state in memory (or Redis) and their events in
a temporary SQLite file. Graph tests use the real Neo4j fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from qa_api.app import create_app
from schema.settings import Settings

TOKENS = ("agent-token-alice:agent:alice, agent-token-bob:agent:bob, "
          "operator-token-olga:operator:olga, admin-token-root:admin:root")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


AGENT = bearer("agent-token-alice")
AGENT_BOB = bearer("agent-token-bob")
OPERATOR = bearer("operator-token-olga")
ADMIN = bearer("admin-token-root")


@pytest.fixture()
def make_app(settings: Settings, tmp_path) -> Iterator[Callable[..., Flask]]:
    """``make_app(engine=None, **config_overrides)`` -> a Flask app built by ``create_app``."""
    apps: list[Flask] = []

    def factory(engine: Any = None, settings_: Settings | None = None, **overrides: Any) -> Flask:
        config = {"redis_mode": "memory", "events_db": tmp_path / "events.sqlite3", "api_tokens": TOKENS,
                  "json_logs": False, **overrides}
        app = create_app(config, settings=settings_ or settings, engine=engine)
        app.testing = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["yeban"].close()


@dataclass
class EngineStack:
    """An app over the real graph, models and Redis, with the engine on a test clock."""

    app: Flask
    http: FlaskClient
    services: Any  # qa_api.services.ApiServices
    redis: redis.Redis


@contextmanager
def engine_stack(settings: Settings, driver, *, encoder, classifier, emotion, redis_url: str, events_db: Path,
                 clock: Callable[[], datetime], order_guard: Callable[[redis.Redis], Any] | None = None,
                 **overrides: Any) -> Iterator[EngineStack]:
    """Build the API's services on a flushed Redis, then the engine on ``clock`` (and on
    ``order_guard(client)`` when given), then the app; ``overrides`` go to the API configuration.
    Rate limits are lifted so that one test client can hold many conversations."""
    from dialog.factory import build_engine
    from qa_api.config import api_config
    from qa_api.services import build_services

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    config = api_config(settings, {"redis_mode": "redis", "api_tokens": TOKENS, "json_logs": False,
                                   "events_db": events_db, "rate_session_burst": 1000,
                                   "rate_client_burst": 10000, **overrides})
    services = build_services(settings, config, driver=driver, redis_client=client)
    if order_guard is not None:
        services.order_guard = order_guard(client)
    services.engine = build_engine(settings, driver, sessions=services.sessions, handoffs=services.handoffs,
                                   events=services.events, agent_hours=services.agent_hours, encoder=encoder,
                                   classifier=classifier, emotion=emotion, clock=clock,
                                   order_guard=services.order_guard if order_guard is not None else None)
    app = create_app(settings=settings, services=services)
    app.testing = True
    try:
        yield EngineStack(app, app.test_client(), services, client)
    finally:
        client.close()
