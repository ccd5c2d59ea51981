"""schemathesis against ``/openapi.json`` with an admin token: every operation answers as its
schema says and never with a 5xx (the real app: Neo4j with the demo store, the real models and engine)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from dialog.factory import build_engine
from qa_api.app import create_app
from qa_api.config import api_config
from qa_api.services import build_services

pytestmark = pytest.mark.slow
ADMIN = "fuzz-admin-token-0001"
MAX_EXAMPLES = 25  # per operation: bounded time (about a minute for the whole API)


@pytest.fixture(scope="module")
def fuzzed_app(demo_graph, settings, encoder, intent_classifier, emotion_scorer, tmp_path_factory):
    config = api_config(settings, {"redis_mode": "memory", "api_tokens": f"{ADMIN}:admin:fuzz", "json_logs": False,
                                   "events_db": tmp_path_factory.mktemp("fuzz") / "events.sqlite3",
                                   "uploads_dir": tmp_path_factory.mktemp("uploads"),
                                   "rate_session_burst": 10**6, "rate_client_burst": 10**6})
    services = build_services(settings, config, driver=demo_graph)
    services.engine = build_engine(settings, demo_graph, sessions=services.sessions, handoffs=services.handoffs,
                                   events=services.events, agent_hours=services.agent_hours, encoder=encoder,
                                   classifier=intent_classifier, emotion=emotion_scorer,
                                   order_guard=services.order_guard)
    app = create_app(settings=settings, services=services)
    yield app
    services.close()


def test_every_operation_conforms_and_never_fails(fuzzed_app):
    """Each operation of the schema, ``MAX_EXAMPLES`` generated requests, schemathesis' default checks
    (status codes, content types, response schemas, no 5xx); all failures reported at once."""
    api = schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app)
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            response = case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"})
            assert response.status_code < 500

        try:
            check()
        except (AssertionError, BaseExceptionGroup, schemathesis.errors.SchemathesisError) as e:  # noqa: B036
            failures.append(f"{operation.label}: {str(e)[:600]}")
    assert operations >= 15
    assert failures == [], "\n\n".join(failures)
