"""Every 4xx/5xx is JSON {"error": {"code", "message"}}; domain errors map to their statuses."""

from __future__ import annotations

import pytest
import redis
from flask import Blueprint
from neo4j import exceptions as neo4j_exc

from dialog.errors import InvalidTransition, TicketStateError
from graph.errors import GraphUnavailableError
from ingest.errors import ChangeSetNotFound, StaleChangeSetError
from tests.qa_api.conftest import AGENT


@pytest.fixture()
def client(make_app):
    return make_app().test_client()


def _error(response):
    body = response.get_json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def test_unknown_route_is_404_json(client):
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and r.mimetype == "application/json"
    assert _error(r)["code"] == "not_found"


def test_wrong_method_is_405_json_with_allow_header(client):
    r = client.put("/v1/chat", json={})
    assert r.status_code == 405
    assert _error(r)["code"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]


def test_unknown_ticket_is_404_json(client):
    r = client.post("/v1/handoffs/missing/claim", headers=AGENT)
    assert r.status_code == 404
    assert _error(r)["code"] == "ticket_not_found"


def test_oversized_body_is_413_json(make_app):
    app = make_app()
    app.config["MAX_CONTENT_LENGTH"] = 100
    r = app.test_client().post("/v1/chat", data="x" * 1000, content_type="application/json")
    assert r.status_code == 413 and _error(r)["code"] == "request_entity_too_large"


@pytest.mark.parametrize(("exc", "status", "code"), [
    (GraphUnavailableError("Neo4j is not reachable"), 503, "graph_unavailable"),
    (neo4j_exc.ServiceUnavailable("routing failed"), 503, "graph_unavailable"),
    (redis.ConnectionError("connection refused"), 503, "state_unavailable"),
    (TicketStateError("ticket t is closed"), 409, "ticket_state"),
    (InvalidTransition("no transition"), 409, "invalid_transition"),
    (ChangeSetNotFound("no change set CS-1"), 404, "changeset_not_found"),
    (StaleChangeSetError("CS-1", ["product:P1"]), 409, "changeset_stale"),
    (RuntimeError("secret internals"), 500, "internal_error"),
])
def test_domain_errors_map_to_statuses(make_app, exc, status, code):
    app = make_app()
    bp = Blueprint("boom", __name__)

    @bp.route("/boom")
    def boom():
        raise exc

    app.register_blueprint(bp)
    r = app.test_client().get("/boom")
    assert r.status_code == status
    error = _error(r)
    assert error["code"] == code
    if status == 500:
        assert "secret" not in error["message"]  # internals are logged, not returned
    if isinstance(exc, StaleChangeSetError):
        assert error["details"] == ["product:P1"]
