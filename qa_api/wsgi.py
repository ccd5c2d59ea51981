"""The WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py 'qa_api.wsgi:create_wsgi_app()'``.

gunicorn calls ``create_wsgi_app()`` in every worker (preload is off), so each
worker builds its own driver, Redis connection and models after the fork. If
the engine cannot be built (models missing, Neo4j down at boot) the worker
still serves: ``/healthz`` is fine, ``/readyz`` names the failure and
``/v1/chat`` answers 503 until a restart.
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from qa_api.app import create_app
from qa_api.config import api_config
from qa_api.logging_setup import configure_logging
from qa_api.readiness import ReadinessCheck
from qa_api.services import YebanServices, build_services
from schema.settings import load_settings

logger = logging.getLogger(__name__)


def _attach_engine(services: YebanServices) -> None:
    from dialog.runtime import build_runtime

    try:
        runtime = build_runtime(services.settings, driver=services.driver, sessions=services.sessions,
                                handoffs=services.handoffs, events=services.events,
                                agent_hours=services.agent_hours, order_guard=services.order_guard)
        services.engine = runtime.engine
        _keep_index_fresh(services)
        return
    except Exception as e:  # the worker must still answer /healthz and /readyz
        logger.exception("the chat engine could not be built")
        reason = f"{type(e).__name__}: {e}"
    logger.error("serving without a chat engine: %s", reason)
    services.extra_checks.append(ReadinessCheck("engine_build", lambda: reason))


def _keep_index_fresh(services: YebanServices) -> None:
    """Every worker checks its FAQ index against the graph's texts in the background, so an
    idle worker too picks up a rebuilt index (or rebuilds it) after any load."""
    keeper = getattr(services.engine, "index_keeper", None)
    if keeper is not None:
        watcher = getattr(services.engine, "watcher", None)
        keeper.start(watcher.sync if watcher is not None else None, services.settings.index_refresh_s)


def create_wsgi_app(**config_overrides: object) -> Flask:
    """One worker's app; keyword arguments override ``ApiConfig`` fields (gunicorn passes literals,
    e.g. ``'qa_api.wsgi:create_wsgi_app(rate_client_burst=1000)'``)."""
    try:
        settings = load_settings()
        config = api_config(settings, config_overrides)
        if config.json_logs:
            configure_logging(config.log_level)
        services = build_services(settings, config)
    except Exception as e:  # logged with its reason for ``python -m ops.api start``, then re-raised
        logger.critical("the API cannot start: %s: %s", type(e).__name__, e,
                        extra={"startup_error": f"{type(e).__name__}: {e}"})
        raise
    atexit.register(services.close)
    if services.backend == "memory" and config.workers > 1:
        logger.warning("sessions, hand-offs and rate limits are per worker (no Redis); with %d workers a "
                       "conversation may lose its context: set YEBAN_REDIS_URL or run "
                       "python -m ops.redis start", config.workers)
    _attach_engine(services)
    return create_app(settings=settings, services=services)
