"""The OpenAPI document lists every route with its schemas and roles; /docs is self-contained."""

from __future__ import annotations

import re

import pytest


@pytest.fixture()
def app(make_app):
    return make_app()


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((path, method.lower()))
    return found


def test_every_route_is_documented(app):
    doc = app.test_client().get("/openapi.json").get_json()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == _routes(app)
    assert doc["openapi"].startswith("3.")
    expected = {"/v1/chat", "/v1/sessions/{session_id}", "/v1/handoffs", "/v1/handoffs/{ticket_id}/claim",
                "/v1/handoffs/{ticket_id}/reply", "/v1/handoffs/{ticket_id}/close", "/v1/changesets",
                "/v1/changesets/{changeset_id}", "/v1/changesets/{changeset_id}/apply",
                "/v1/changesets/{changeset_id}/rollback", "/v1/products/{product_id}",
                "/v1/analytics/summary", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"}
    assert expected <= set(doc["paths"])


def _resolve(doc, schema):
    ref = schema["$ref"]
    assert ref.startswith("#/components/schemas/")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_chat_operation_has_request_and_response_schemas(app):
    doc = app.test_client().get("/openapi.json").get_json()
    op = doc["paths"]["/v1/chat"]["post"]
    request = _resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])
    assert set(request["required"]) == {"message"}  # the server issues session ids
    assert "session_id" in request["properties"]
    assert request["properties"]["message"]["maxLength"] == 500
    response = _resolve(doc, op["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"reply", "intent", "confidence", "state", "session_id"} <= set(response["properties"])
    error = _resolve(doc, op["responses"]["400"]["content"]["application/json"]["schema"])
    assert "error" in error["properties"]
    assert "security" not in op


def test_secured_operations_declare_bearer_and_roles(app):
    doc = app.test_client().get("/openapi.json").get_json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    claim = doc["paths"]["/v1/handoffs/{ticket_id}/claim"]["post"]
    assert claim["security"] == [{"bearer": []}]
    assert claim["x-roles"] == ["agent", "admin"]
    assert {"401", "403", "404", "409"} <= set(claim["responses"])
    assert claim["parameters"][0] == {"name": "ticket_id", "in": "path", "required": True,
                                      "schema": {"type": "string"}}
    listing = doc["paths"]["/v1/handoffs"]["get"]
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert status["in"] == "query"
    create = doc["paths"]["/v1/changesets"]["post"]
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "201" in create["responses"]
    summary = doc["paths"]["/v1/analytics/summary"]["get"]
    assert {p["name"] for p in summary["parameters"]} == {"from", "to"}


def test_every_ref_resolves(app):
    doc = app.test_client().get("/openapi.json").get_json()
    text = str(doc)
    for name in set(re.findall(r"#/components/schemas/([A-Za-z0-9_\-]+)", text)):
        assert name in doc["components"]["schemas"], name


def test_docs_page_lists_endpoints_without_external_assets(app):
    r = app.test_client().get("/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    for path in ("/v1/chat", "/v1/handoffs/{ticket_id}/claim", "/readyz"):
        assert f"<code>{path}</code>" in page
    assert not re.search(r"(src|href)=[\"']?https?://", page)


def test_what_schemathesis_found_is_in_the_schema(app):
    """Constraints the handlers enforce are stated where JSON Schema can state them (found by fuzzing:
    tests/load/test_schema_fuzz.py): text that is more than blanks, the stream's session header, the
    shape of one server-sent event."""
    doc = app.test_client().get("/openapi.json").get_json()
    chat = _resolve(doc, doc["paths"]["/v1/chat"]["post"]["requestBody"]["content"]["application/json"]["schema"])
    assert chat["properties"]["message"]["pattern"] == r"[^\s\x1c-\x1f\x85]"
    reply = doc["paths"]["/v1/handoffs/{ticket_id}/reply"]["post"]["requestBody"]["content"]["application/json"]
    assert _resolve(doc, reply["schema"])["properties"]["text"]["pattern"] == r"[^\s\x1c-\x1f\x85]"
    stream = doc["paths"]["/v1/chat/stream"]["get"]
    header = [p for p in stream["parameters"] if p["in"] == "header"]
    assert header == [{"name": "X-Yeban-Session", "in": "header", "required": True,
                       "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:\-]{1,128}$"}}]
    event = stream["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert event["type"] == "object" and event["properties"]["retry"]["type"] == "integer"


def test_blank_text_and_integral_scores_follow_json(app):
    client = app.test_client()
    for text in (" \n ", "\x85", "\x1c\u3000"):  # what Python's strip removes, in the schema too
        blank = client.post("/v1/chat", json={"message": text})
        assert blank.status_code == 400 and blank.get_json()["error"]["field"] == "message"
    # JSON has one number type: 4.0 is the integer 4 (JSON Schema agrees), 4.5 is not a score.
    # (The body is read before the session is looked up: an accepted score reaches "no such session".)
    whole = client.post("/v1/sessions/nobody/rating", json={"score": 4.0})
    assert whole.status_code == 404 and whole.get_json()["error"]["code"] == "session_not_found"
    half = client.post("/v1/sessions/nobody/rating", json={"score": 4.5})
    assert half.status_code == 400 and half.get_json()["error"]["field"] == "score"
