"""The Neo4j + Redis a benchmark runs against: the demo stack if it is up, else a scratch one.

Owns: deciding and starting what ``bench.bench_api`` needs, with the
project's own launchers (``ops.neo4j.LocalNeo4j``, ``ops.redis.LocalRedis``).
``auto`` uses the configured Neo4j when it holds products (after ``make
demo``) and otherwise starts a scratch Neo4j and Redis under
``var/bench/stack`` on free ports, applies the migrations and loads
``data/demo`` with its FAQ index. Everything the bench started is stopped
by ``Stack.close``; a scratch database is kept on disk so the next run only
starts it (the load is skipped while it holds products).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from graph.driver import connect
from graph.errors import GraphError
from graph.introspect import describe_schema
from ops.errors import LaunchError
from schema.settings import PROJECT_ROOT, Settings, load_settings

logger = logging.getLogger(__name__)
DEMO_DATA = PROJECT_ROOT / "data" / "demo"


class StackError(RuntimeError):
    """The benchmark's Neo4j or Redis could not be started or loaded."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """What the API under test is pointed at (``env`` for its process) and what to stop afterwards."""

    kind: str  # "existing" or "scratch"
    settings: Settings
    env: dict[str, str]
    products: int
    _stop: list = field(default_factory=list)

    def close(self) -> None:
        for stop in reversed(self._stop):
            try:
                stop()
            except (OSError, RuntimeError, GraphError, LaunchError) as e:
                logger.warning("could not stop a bench service: %s", e)
        self._stop.clear()


def _products(settings: Settings) -> int:
    driver = connect(settings)
    try:
        return describe_schema(driver, settings.neo4j_database).labels.get("Product", 0)
    finally:
        driver.close()


def _redis(settings: Settings, stack: Stack) -> str:
    from ops.redis import LocalRedis, RedisLaunchError
    from qa_api.config import api_config

    server = LocalRedis(api_config(settings).redis_server)
    try:
        if not server.status().running:
            server.start()
            stack._stop.append(server.stop)
        return server.status().url
    except RedisLaunchError as e:
        raise StackError(f"Redis for the bench: {e}") from e


def open_stack(mode: str = "auto") -> Stack:
    """The stack for ``mode`` (``auto``, ``existing`` or ``scratch``); raises ``StackError``."""
    settings = load_settings()
    if mode in ("auto", "existing"):
        try:
            products = _products(settings)
        except GraphError as e:
            if mode == "existing":
                raise StackError(f"{e} (run `make demo` first, or use --stack scratch)") from e
            products = 0
        if products or mode == "existing":
            if not products:
                raise StackError("the graph has no products; load the demo store (`make demo`) or use --stack scratch")
            stack = Stack("existing", settings, {}, products)
            stack.env["YEBAN_REDIS_URL"] = _redis(settings, stack)
            return stack
    return _scratch()


def _scratch() -> Stack:
    from graph.migrate import apply_migrations
    from ingest.errors import IngestError
    from ingest.pipeline import load_and_index
    from ops.neo4j import LocalNeo4j
    from retrieval.encoder import encoder_from_settings
    from retrieval.errors import RetrievalError

    base = load_settings()
    var_dir = base.var_dir / "bench" / "stack"
    var_dir.mkdir(parents=True, exist_ok=True)
    models = var_dir / "models"  # share the checkpoint and the trained heads with the service
    if not models.exists():
        os.symlink(base.models_dir.resolve(), models)
    settings = load_settings(var_dir=var_dir, neo4j_port=free_port(), redis_port=free_port(),
                             neo4j_heap="1g", neo4j_pagecache="512m",
                             encoder_model=base.encoder_model or str(base.default_encoder_dir))
    stack = Stack("scratch", settings, {}, 0)
    neo4j = LocalNeo4j(settings)
    try:
        neo4j.start()
    except (GraphError, LaunchError) as e:
        raise StackError(f"scratch Neo4j: {e}") from e
    stack._stop.append(neo4j.stop)
    try:
        driver = connect(settings)
        try:
            apply_migrations(driver, settings.neo4j_database)
            if describe_schema(driver, settings.neo4j_database).labels.get("Product", 0) == 0 or not any(
                    Path(settings.index_dir).glob("*")):
                logger.info("loading %s into the scratch Neo4j", DEMO_DATA)
                load_and_index(settings, driver, encoder_from_settings(settings), [DEMO_DATA], author="bench",
                               show_progress=False)
        finally:
            driver.close()
        stack.products = _products(settings)
        stack.env.update({"NEO4J_URI": settings.bolt_uri, "YEBAN_VAR_DIR": str(var_dir),
                          "YEBAN_ENCODER_MODEL": settings.encoder_model,
                          "YEBAN_REDIS_URL": _redis(settings, stack)})
    except (GraphError, LaunchError, IngestError, RetrievalError, OSError) as e:
        stack.close()
        raise StackError(f"loading the scratch stack: {e}") from e
    except BaseException:
        stack.close()
        raise
    return stack
