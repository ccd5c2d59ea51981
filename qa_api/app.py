"""The application factory.

``create_app()`` builds a Flask app with every blueprint, the JSON error
handler, JSON logging and per-request metrics. What the app works with lives
in ``app.extensions["yeban"]`` (``qa_api.services.YebanServices``): pass
``services`` to share stores with an engine built beforehand, or ``engine``
to plug a chat engine into services built from ``settings``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from dialog.ports import ChatEngine
from qa_api.blueprints import all_blueprints
from qa_api.config import api_config
from qa_api.errors import register_error_handlers
from qa_api.logging_setup import configure_logging
from qa_api.services import YebanServices, build_services
from schema.settings import Settings, load_settings

EXTENSION = "yeban"


def create_app(test_config: Mapping[str, Any] | None = None, *, settings: Settings | None = None,
               engine: ChatEngine | None = None, services: YebanServices | None = None) -> Flask:
    """Build the API.

    ``test_config`` overrides ``ApiConfig`` fields (e.g. ``{"api_tokens": "...",
    "redis_mode": "memory"}``) when services are built here; ``engine`` replaces
    the services' engine.
    """
    if services is None:
        settings = settings or load_settings()
        services = build_services(settings, api_config(settings, test_config))
    elif test_config:
        raise ValueError("pass test_config to api_config() when you build the services yourself")
    if engine is not None:
        services.engine = engine
    config = services.config
    if config.json_logs:
        configure_logging(config.log_level)

    app = Flask("qa_api")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    if config.trusted_proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies)  # type: ignore[method-assign]
    app.extensions[EXTENSION] = services
    register_error_handlers(app)
    for bp in all_blueprints():
        app.register_blueprint(bp)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        services.metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        return response

    return app
