"""schemathesis against ``/openapi.json`` with an admin token: every operation answers as its
schema says and never with a 5xx (the real app: Neo4j with the demo store, the real models and engine)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from dialog.factory import build_engine
from qa_api.app import create_app
from qa_api.config import api_config
from qa_api.services import build_services

pytestmark = pytest.mark.slow
ADMIN = "fuzz-admin-token-0001"
MAX_EXAMPLES = 25  # per operation: bounded time (about a minute for the whole API on a quiet machine)
# No shrinking: a failure is reported as schemathesis first found it (with its curl line), which keeps a
# failing run as short as a passing one.
PHASES = (Phase.explicit, Phase.generate)


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


# Change-set records (a JSON body or an uploaded file) are validated by their kind's record model after the
# body is read (``kind`` picks the model, and records have cross-field rules JSON Schema cannot state: dates
# in order, reserved attribute names) and the file by its format. For that operation a 400 is a documented
# answer to a schema-valid request, and the check is that it names the record and field, or the file line,
# as the API promises; every other check still runs.
RECORD_RULES = {"POST /v1/changesets"}
_FILE_LINE = re.compile(r":\d+ ")  # "<file>:<line> <field or (line)>: <problem>"


def _names_the_record_field(ctx, response, case) -> None:
    if response.status_code == 400:
        error = response.json().get("error") or {}
        field = error.get("field") or ""
        details = error.get("details") or []
        named = (field.startswith("records.") or field == "file"
                 or (details and all(_FILE_LINE.search(d) for d in details)))
        assert named, f"a rejected record must be named: {response.text[:300]}"


def _fuzz(operation, call: dict):
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=PHASES,
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"}, **call)
        assert response.status_code < 500
    return check


def test_every_operation_conforms_and_never_fails(fuzzed_app):
    """Each operation of the schema, ``MAX_EXAMPLES`` generated requests, schemathesis' default checks
    (status codes, content types, response schemas, no 5xx); all failures reported at once."""
    api = schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app)
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        if operation.label in RECORD_RULES:
            call = {"excluded_checks": [schemathesis.checks.positive_data_acceptance],
                    "additional_checks": [_names_the_record_field]}
        else:
            call = {}

        try:
            _fuzz(operation, call)()
        except (AssertionError, BaseExceptionGroup, schemathesis.errors.SchemathesisError) as e:  # noqa: B036
            failures.append(f"{operation.label}: {str(e)[:1500]}")
    for failure in failures:  # in full: pytest's assertion diff would cut all but the first
        print(failure, end="\n\n")
    assert operations >= 15
    assert failures == [], f"{len(failures)} operations failed (printed above)"

