"""``/openapi.json`` (OpenAPI 3.1, generated from the routes) and ``/docs`` (a
self-contained HTML page listing the endpoints; no external assets)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from qa_api.openapi import build_openapi, render_docs_page
from qa_api.routing import Operation, endpoint

bp = Blueprint("docs", __name__)


@endpoint(bp, "/openapi.json", ["GET"], Operation(summary="This API's OpenAPI document", tag="docs"))
def openapi() -> Response:
    return current_app.json.response(build_openapi(current_app))


@endpoint(bp, "/docs", ["GET"], Operation(summary="Human-readable list of the endpoints", tag="docs",
                                          content_type="text/html"))
def docs() -> Response:
    return Response(render_docs_page(build_openapi(current_app)), mimetype="text/html")
