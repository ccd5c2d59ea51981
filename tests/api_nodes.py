"""API nodes for the tests: gunicorn started through ``ops.api`` with the real models, against
the test Neo4j and a given Redis, each node with its own ``var/`` (pid file, api.log, event log)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ops.api import ApiServer
from schema.settings import PROJECT_ROOT, Settings, load_settings

AGENT_TOKEN = "load-agent-token"
ADMIN_TOKEN = "load-admin-token"


def served_env(settings: Settings, redis_url: str, var_dir: Path) -> dict[str, str]:
    """Environment for an API node of the tests: test Neo4j and Redis, the shared model checkpoint,
    rate limits out of the way of a load test, no env file."""
    return {"NEO4J_URI": settings.bolt_uri, "YEBAN_ENCODER_MODEL": str(load_settings().default_encoder_dir),
            "YEBAN_REDIS_URL": redis_url, "YEBAN_ENV_FILE": str(var_dir / "none.env"),
            "YEBAN_API_TOKENS": f"{AGENT_TOKEN}:agent:lena,{ADMIN_TOKEN}:admin:root",
            "YEBAN_API_RATE_CLIENT_BURST": "1000000", "YEBAN_API_RATE_CLIENT_PER_S": "1000000",
            "YEBAN_API_RATE_SESSION_BURST": "1000000", "YEBAN_API_RATE_SESSION_PER_S": "1000000",
            "YEBAN_ORDER_VERIFY_MAX_PER_CLIENT": "1000000",
            "YEBAN_AGENT_HOURS": "00:00-24:00"}  # agents on duty whatever the hour the suite runs


def start_node(settings: Settings, redis_url: str, var_dir: Path, port: int, workers: int,
               monkeypatch: pytest.MonkeyPatch) -> ApiServer:
    """An API node started through ``ops.api`` (logs in ``var_dir/log/api.log``); the caller stops it."""
    for key, value in {**served_env(settings, redis_url, var_dir), "YEBAN_API_WORKERS": str(workers)}.items():
        monkeypatch.setenv(key, value)
    # The node's own var/ (pid file, api.log, event log) sees the shared model heads and the FAQ index
    # the demo_graph fixture built.
    var_dir.mkdir(parents=True, exist_ok=True)
    for name, target in (("models", PROJECT_ROOT / "var" / "models"), ("index", settings.index_dir)):
        if not (var_dir / name).exists():
            os.symlink(target, var_dir / name)
    server = ApiServer(load_settings(var_dir=var_dir, api_host="127.0.0.1", api_port=port))
    server.start(timeout_s=900)
    return server
