"""The OpenAPI 3.1 document, generated from the app's URL map and the
``Operation`` each view carries (its pydantic models give the schemas), and
the plain HTML page behind ``/docs``.
"""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from qa_api.routing import OPERATION_ATTR, Operation
from qa_api.schemas import ErrorOut

_CACHE_KEY = "yeban_openapi"
_PATH_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_ERROR_TEXT = {400: "Invalid request (the message names the field)", 401: "Missing or invalid bearer token",
               403: "The token's role may not call this endpoint", 404: "Not found",
               409: "Conflicts with the resource's state", 429: "Rate limited (see Retry-After)",
               503: "A dependency is unavailable"}


def _operations(app: Flask) -> list[tuple[str, str, Operation, list[str]]]:
    """(path, method, operation, path args) for every documented rule."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        op: Operation | None = getattr(view, OPERATION_ATTR, None)
        if op is None:
            continue
        path = _PATH_ARG.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), op, sorted(rule.arguments)))
    return sorted(found, key=lambda item: (item[0], item[1]))


def _component_schemas(ops: list[Operation]) -> tuple[dict[tuple[type[BaseModel], str], dict], dict]:
    models: set[tuple[type[BaseModel], str]] = {(ErrorOut, "serialization")}
    for op in ops:
        for model in (op.request, op.multipart):
            if model is not None:
                models.add((model, "validation"))
        if op.response is not None:
            models.add((op.response, "serialization"))
    refs, top = models_json_schema(sorted(models, key=lambda m: (m[0].__name__, m[1])),
                                   ref_template="#/components/schemas/{model}")
    return refs, top.get("$defs", {})


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


# One event of a text/event-stream response, as a client's SSE parser sees it (the schema of each event).
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "description": "the event name (``message`` when not sent)"},
        "data": {"type": "string", "description": "the event's JSON snapshot; empty in the opening event that "
                                                  "only sets ``retry``"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0, "description": "reconnection delay in milliseconds"},
    },
}


def build_openapi(app: Flask) -> dict[str, Any]:
    cached = app.extensions.get(_CACHE_KEY)
    if cached is not None:
        return cached
    entries = _operations(app)
    refs, components = _component_schemas([op for _, _, op, _ in entries])
    error_ref = refs[(ErrorOut, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for path, method, op, args in entries:
        doc: dict[str, Any] = {"summary": op.summary, "tags": [op.tag],
                               "operationId": f"{method}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_')}"}
        params = [{"name": a, "in": "path", "required": True, "schema": {"type": "string"}} for a in args]
        if op.query is not None:
            params += _query_parameters(op.query)
        params += [{"name": name, "in": "header", "required": True, "schema": schema}
                   for name, schema in op.headers]
        if params:
            doc["parameters"] = params
        content: dict[str, Any] = {}
        if op.request is not None:
            content["application/json"] = {"schema": refs[(op.request, "validation")]}
        if op.multipart is not None:
            content["multipart/form-data"] = {"schema": refs[(op.multipart, "validation")]}
        if content:
            doc["requestBody"] = {"required": True, "content": content}
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
        elif op.content_type == "text/event-stream":
            ok["content"] = {op.content_type: {"schema": SSE_EVENT_SCHEMA}}
        elif op.content_type != "application/json":
            ok["content"] = {op.content_type: {"schema": {"type": "string"}}}
        else:
            ok["content"] = {"application/json": {"schema": {"type": "object"}}}
        responses: dict[str, Any] = {str(op.response_status): ok}
        statuses = set(op.errors) | ({401, 403} if op.roles else set())
        for status in sorted(statuses):
            responses[str(status)] = {"description": _ERROR_TEXT.get(status, "Error"),
                                      "content": {"application/json": {"schema": error_ref}}}
        doc["responses"] = responses
        if op.roles:
            doc["security"] = [{"bearer": []}]
            doc["x-roles"] = [*op.roles, "admin"]
        paths.setdefault(path, {})[method] = doc
    document = {
        "openapi": "3.1.0",
        "info": {"title": "yeban 夜班 API", "version": "1.0.0",
                 "description": "Knowledge-graph question answering for shoppers, with hand-off to "
                                "human agents and operator tools. Errors are JSON "
                                "{\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "token configured with a role: agent, operator "
                                                          "or admin (admin may call everything)"}},
        },
    }
    app.extensions[_CACHE_KEY] = document
    return document


def render_docs_page(document: dict[str, Any]) -> str:
    """A self-contained HTML page: one table row per operation."""
    rows = []
    for path, methods in document["paths"].items():
        for method, doc in methods.items():
            roles = ", ".join(doc.get("x-roles", [])) or "public"
            rows.append(
                f"<tr><td class=m>{html.escape(method.upper())}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(doc.get('summary', ''))}</td><td>{html.escape(roles)}</td></tr>")
    title = html.escape(document["info"]["title"])
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{title}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;"
        "text-align:left;vertical-align:top}td.m{font-weight:bold;font-family:monospace}</style></head>"
        f"<body><h1>{title}</h1><p>{html.escape(document['info']['description'])}</p>"
        "<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a></p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Roles</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>"
    )
