"""Shared fixtures: the project's real Neo4j, started once per test session.

Tests use their own store (``var/test/``) and port so that running the suite
never touches the demo database. Set ``NEO4J_URI`` to run them against another
server instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from graph.driver import connect
from graph.testing import reset_database
from ops.neo4j import LocalNeo4j
from retrieval.models import BootstrapSummary, bootstrap, ensure_offline_env
from schema.settings import PROJECT_ROOT, Settings, load_settings
from tests import ports
from tests.redis_support import redis_client, redis_prefix, redis_server  # noqa: F401  (shared fixtures)

TEST_VAR = PROJECT_ROOT / "var" / "test"
TEST_PORT = ports.NEO4J


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Conversation tests date their events on a fixed engine clock (late 2026), while the event log
    # purges by the real clock: a long retention keeps those events after the default 90 days pass.
    return load_settings(var_dir=TEST_VAR, neo4j_port=TEST_PORT, neo4j_heap="1g",
                         neo4j_pagecache="512m", events_retention_days=36500.0)


@pytest.fixture(scope="session")
def neo4j_server(settings: Settings) -> Iterator[LocalNeo4j]:
    """Start (or reuse) the project's Neo4j for the whole session."""
    server = LocalNeo4j(settings)
    was_running = server.status().running
    server.start()  # raises Neo4jLaunchError naming what to install if Java/Maven are missing
    yield server
    if not was_running:
        server.stop()


@pytest.fixture(scope="session")
def driver(neo4j_server: LocalNeo4j, settings: Settings) -> Iterator[neo4j.Driver]:
    drv = connect(settings)
    yield drv
    drv.close()


@pytest.fixture()
def graph_db(driver: neo4j.Driver, settings: Settings) -> neo4j.Driver:
    """An empty database with migrations applied, for one test."""
    reset_database(driver, settings.neo4j_database)
    return driver


# --- the real bootstrapped e5 checkpoint, loaded once per session -------------
@pytest.fixture(scope="session")
def encoder_settings() -> Settings:
    """Default settings: the checkpoint lives where the service loads it from.

    Deliberately not the suite-wide ``settings`` (``var/test``): one 470 MB
    checkpoint is shared by the app, the bench and the tests.
    """
    s = load_settings()
    ensure_offline_env(s)
    return s


@pytest.fixture(scope="session")
def bootstrap_summary(encoder_settings: Settings) -> BootstrapSummary:
    return bootstrap(encoder_settings)


@pytest.fixture(scope="session")
def model_dir(bootstrap_summary: BootstrapSummary) -> Path:
    return Path(bootstrap_summary.path)


@pytest.fixture(scope="session")
def encoder(model_dir: Path):
    from retrieval.encoder import E5Encoder

    enc = E5Encoder(str(model_dir), batch_size=32, cache_size=64)
    enc.warm_up()
    return enc




@pytest.fixture(scope="session")
def intent_classifier(encoder_settings: Settings, encoder):
    """The cached intent head (trained once into var/models/intent, then loaded)."""
    from retrieval.intent import load_or_train

    return load_or_train(encoder_settings, encoder)


@pytest.fixture(scope="session")
def emotion_scorer(encoder_settings: Settings, encoder):
    from retrieval.emotion import EmotionScorer

    return EmotionScorer.load_or_train(encoder_settings, encoder)


DEMO_DATA = PROJECT_ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def demo_graph(driver: neo4j.Driver, settings: Settings, encoder) -> neo4j.Driver:
    """The test database holding exactly the demo store, with the FAQ index built.

    Module-scoped: a module that uses it must not also use ``graph_db`` (which
    empties the database).
    """
    from ingest.pipeline import load_and_index

    reset_database(driver, settings.neo4j_database)
    load_and_index(settings, driver, encoder, [DEMO_DATA], author="tests", show_progress=False)
    return driver
