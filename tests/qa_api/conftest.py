"""Fixtures for the API tests: the real Redis (``tests/redis_support.py``) and an
app factory whose apps keep their state in memory (or Redis) and their events in
a temporary SQLite file. Graph tests use the real Neo4j fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

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
