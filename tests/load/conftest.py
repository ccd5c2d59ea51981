"""The API served by gunicorn (``ops.api``: two workers, the real models) against the test Neo4j
holding the demo store and the session's Redis, for the load and fault tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.api import ApiServer
from ops.loadgen import store_messages
from schema.settings import PROJECT_ROOT
from tests import ports
from tests.api_nodes import AGENT_TOKEN, start_node

__all__ = ["AGENT_TOKEN"]


@pytest.fixture(scope="module")
def dialogues() -> list[list[str]]:
    return store_messages(PROJECT_ROOT / "data" / "demo")


@pytest.fixture(scope="module")
def api(demo_graph, settings, redis_server, tmp_path_factory) -> Iterator[ApiServer]:
    var_dir = tmp_path_factory.mktemp("load") / "var"
    with pytest.MonkeyPatch.context() as mp:
        server = start_node(settings, redis_server.url, var_dir, ports.API_LOAD, 2, mp)
        try:
            yield server
        finally:
            server.stop()
