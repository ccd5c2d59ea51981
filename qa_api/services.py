"""What one application instance works with, built once per process and kept
in ``app.extensions["yeban"]``: the chat engine, the session store, the
hand-off queue, the event log, the graph read API, the change-set service,
tokens, rate limiters, metrics and readiness checks.

State backends: Redis when ``redis_mode`` is ``redis``, or ``auto`` and a Redis
is configured (``redis_url``) or the project's local Redis is running; in-process
otherwise (a single worker only: sessions would not be shared).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import neo4j
import redis
from neo4j import exceptions as neo4j_exc

from dialog.agent_hours import AgentHours
from dialog.conversion import ConversionTracker
from dialog.errors import DialogError
from dialog.event_writer import WriteBehindEventLog
from dialog.events import SqliteEventLog
from dialog.handoff_queue import InMemoryHandoffQueue, RedisHandoffQueue
from dialog.order_guard import GuardLimits, InMemoryOrderGuard, OrderGuard, RedisOrderGuard
from dialog.outcomes import SqliteOutcomeStore
from dialog.ports import ChatEngine, EventLog, HandoffQueue, SessionStore
from dialog.session_store import InMemorySessionStore, RedisSessionStore
from graph.conversion import OrderFacts
from graph.driver import create_driver
from graph.errors import GraphError
from graph.knowledge import GraphKnowledge
from ingest.changesets import ChangeSetService
from ingest.models import ChangeSummary
from ops.redis import LocalRedis
from qa_api.auth import TokenTable
from qa_api.config import ApiConfig, api_config
from qa_api.errors import ServiceUnavailable
from qa_api.metrics import ApiMetrics
from qa_api.rate_limit import InMemoryTokenBucket, RateLimiter, RedisTokenBucket
from qa_api.readiness import ReadinessCheck, ReadinessRunner, engine_checks, neo4j_check
from qa_api.session_ids import AliasStore, InMemoryAliases, RedisAliases, SessionIds
from schema.settings import Settings

logger = logging.getLogger(__name__)


class SessionEraser(Protocol):
    def delete_for_session(self, session_id: str) -> int:
        """Delete everything stored for ``session_id``; returns how many records went."""
        ...


class BackendError(ServiceUnavailable):
    """The configured state backend (Redis) is not usable."""

    code = "state_unavailable"


@dataclass
class YebanServices:
    settings: Settings
    config: ApiConfig
    sessions: SessionStore
    handoffs: HandoffQueue
    events: EventLog
    tokens: TokenTable
    session_limiter: RateLimiter
    client_limiter: RateLimiter
    agent_hours: AgentHours
    session_ids: SessionIds
    order_guard: OrderGuard
    engine: ChatEngine | None = None
    driver: neo4j.Driver | None = None
    knowledge: GraphKnowledge | None = None
    changesets: ChangeSetService | None = None
    redis: redis.Redis | None = None
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    extra_checks: list[ReadinessCheck] = field(default_factory=list)
    # Conversions and ratings (dialog/outcomes.py) and the order-load hook that fills them.
    outcomes: SqliteOutcomeStore | None = None
    conversions: ConversionTracker | None = None
    # More stores holding a session's data (e.g. "leads"): the erasure endpoint calls each one's
    # delete_for_session(session_id) -> int and reports the counts under their names.
    session_erasers: dict[str, SessionEraser] = field(default_factory=dict)
    owns_driver: bool = False
    _runner: ReadinessRunner | None = None

    @property
    def backend(self) -> str:
        return "redis" if self.redis is not None else "memory"

    def readiness_checks(self) -> list[ReadinessCheck]:
        checks: list[ReadinessCheck] = []
        if self.driver is not None:
            checks.append(neo4j_check(self.driver, self.settings.neo4j_database))
        return checks + engine_checks(self.engine) + self.extra_checks

    def check_readiness(self) -> ReadinessRunner:
        if self._runner is None:
            self._runner = ReadinessRunner([], self.config.readiness_timeout_s)
        self._runner.checks = self.readiness_checks()
        return self._runner

    def knowledge_changed(self, summary: ChangeSummary) -> None:
        """An applied or rolled-back change set changed the graph: the engine rebuilds the FAQ
        index and refreshes its caches.

        Other workers notice through the graph's knowledge version (the engine's concern).
        """
        self.attribute_orders(summary)
        refresh = getattr(self.engine, "knowledge_changed", None) or getattr(self.engine, "refresh_texts", None)
        if callable(refresh):
            try:
                refresh()
            except Exception:  # the change is committed; a stale cache must not fail it
                logger.exception("the engine could not refresh after change set %s",
                                 summary.change_set_id)

    def attribute_orders(self, summary: ChangeSummary) -> None:
        """Orders the change created or updated are attributed to the conversations they follow."""
        if self.conversions is None:
            return
        try:
            self.conversions.on_change(summary)
        except (DialogError, GraphError, neo4j_exc.Neo4jError, neo4j_exc.DriverError) as e:
            logger.warning("conversion attribution failed after change set %s: %s", summary.change_set_id, e)

    def close(self) -> None:
        close_events = getattr(self.events, "close", None)
        if close_events is not None:
            close_events()  # writes what the write-behind queue still holds
        if self._runner is not None:
            self._runner.close()
        if self.owns_driver and self.driver is not None:
            self.driver.close()
        if self.redis is not None:
            self.redis.close()


def resolve_redis_url(config: ApiConfig) -> str | None:
    """The Redis to use, or None for in-process state."""
    if config.redis_mode == "memory":
        return None
    url = config.redis_url or LocalRedis(config.redis_server).running_url()
    if url is None and config.redis_mode == "redis":
        raise BackendError("redis_mode is 'redis' but no Redis is configured or running "
                           "(set YEBAN_REDIS_URL or run python -m ops.redis start)")
    return url


def connect_redis(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=5.0,
                                  health_check_interval=30)
    try:
        client.ping()
    except redis.RedisError as e:
        client.close()
        raise BackendError(f"Redis at {url} is not reachable: {e}") from e
    return client


def build_services(settings: Settings, config: ApiConfig | None = None, *,
                   driver: neo4j.Driver | None = None, engine: ChatEngine | None = None,
                   redis_client: redis.Redis | None = None, knowledge: GraphKnowledge | None = None,
                   changesets: ChangeSetService | None = None, with_graph: bool = True) -> YebanServices:
    """Stores and helpers for one process; the caller may pass any part in.

    Creates a Neo4j driver (no network traffic yet) unless one is given or
    ``with_graph`` is False, and the graph read API and change-set service on top of it.
    """
    config = config or api_config(settings)
    if redis_client is None:
        url = resolve_redis_url(config)
        redis_client = connect_redis(url) if url else None
    prefix = config.redis_prefix
    sessions: SessionStore
    handoffs: HandoffQueue
    if redis_client is not None:
        sessions = RedisSessionStore(redis_client, config.session_ttl_s, config.session_max_history,
                                     prefix=f"{prefix}session:")
        handoffs = RedisHandoffQueue(redis_client, prefix=f"{prefix}handoff:")
        session_limiter: RateLimiter = RedisTokenBucket(
            redis_client, config.rate_session_burst, config.rate_session_per_s, prefix=f"{prefix}rate:s:")
        client_limiter: RateLimiter = RedisTokenBucket(
            redis_client, config.rate_client_burst, config.rate_client_per_s, prefix=f"{prefix}rate:c:")
        aliases: AliasStore = RedisAliases(redis_client, config.session_ttl_s, prefix=f"{prefix}alias:")
        order_guard: OrderGuard = RedisOrderGuard(redis_client, _guard_limits(settings), prefix=f"{prefix}verify:")
    else:
        sessions = InMemorySessionStore(config.session_ttl_s, config.session_max_history)
        handoffs = InMemoryHandoffQueue()
        session_limiter = InMemoryTokenBucket(config.rate_session_burst, config.rate_session_per_s)
        client_limiter = InMemoryTokenBucket(config.rate_client_burst, config.rate_client_per_s)
        aliases = InMemoryAliases(config.session_ttl_s)
        order_guard = InMemoryOrderGuard(_guard_limits(settings))

    owns_driver = False
    if driver is None and with_graph:
        driver = create_driver(settings)
        owns_driver = True
    if driver is not None and knowledge is None:
        knowledge = GraphKnowledge(driver, settings.neo4j_database)

    services = YebanServices(
        settings=settings, config=config, sessions=sessions, handoffs=handoffs,
        events=_event_log(config.events_db, settings),
        tokens=TokenTable.from_sources(config.api_tokens, config.api_tokens_file),
        session_limiter=session_limiter, client_limiter=client_limiter,
        agent_hours=AgentHours.parse(config.agent_hours, config.agent_timezone),
        session_ids=SessionIds(sessions, aliases), order_guard=order_guard,
        engine=engine, driver=driver, knowledge=knowledge, changesets=changesets,
        redis=redis_client, owns_driver=owns_driver,
    )
    services.outcomes = SqliteOutcomeStore(config.events_db)
    if driver is not None:
        services.conversions = ConversionTracker(services.events, services.outcomes,
                                                 OrderFacts(driver, settings.neo4j_database),
                                                 settings.conversion_window_h)
    if driver is not None and changesets is None:
        services.changesets = _changeset_service(driver, settings, services.knowledge_changed)
    logger.info("API services ready (state backend: %s, %d API tokens)", services.backend, len(services.tokens))
    return services


def _event_log(path: Path, settings: Settings) -> EventLog:
    """The API's event log: SQLite, written behind the request unless ``events_write_behind_s`` is 0."""
    log = SqliteEventLog(path, retention_days=settings.events_retention_days)
    if settings.events_write_behind_s <= 0:
        return log
    return WriteBehindEventLog(log, flush_every_s=settings.events_write_behind_s)


def _guard_limits(settings: Settings) -> GuardLimits:
    return GuardLimits(max_per_order=settings.order_verify_max_per_order,
                       max_per_client=settings.order_verify_max_per_client,
                       window_s=settings.order_verify_window_s)


def _changeset_service(driver: neo4j.Driver, settings: Settings,
                       on_change: Callable[[ChangeSummary], None]) -> ChangeSetService:
    return ChangeSetService(driver, settings.neo4j_database,
                            phone_salt=settings.phone_hash_salt.get_secret_value(), on_change=on_change)
