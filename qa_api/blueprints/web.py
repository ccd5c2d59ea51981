"""The browser surfaces: ``/widget.js`` (one script tag adds the shoppers' chat widget to
any page), ``/demo`` (a mock product page with the widget) and ``/console`` (agents'
and operators' console). Every asset is a plain file under ``qa_api/static/``; nothing
comes from a CDN. The public chat endpoints answer cross-origin requests, so the
widget works on the store's own pages."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, send_from_directory

from dialog.analytics import NIGHT_END_HOUR, NIGHT_START_HOUR
from qa_api.routing import Operation, endpoint, services
from schema.intents import load_taxonomy

bp = Blueprint("web", __name__)
CORS_PATHS = frozenset({"/v1/chat", "/v1/chat/stream"})
CORS_HEADERS = "Content-Type, X-Yeban-Session"


def _allowed_origin(origin: str | None) -> str | None:
    allowed = [o.strip() for o in services().settings.widget_allowed_origins.split(",") if o.strip()]
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


@bp.after_app_request
def _cors(response: Response) -> Response:
    if request.path in CORS_PATHS or (request.path.startswith("/v1/sessions/") and request.path.endswith("/rating")):
        origin = _allowed_origin(request.headers.get("Origin"))
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Max-Age"] = "600"
            if origin != "*":
                response.headers["Vary"] = "Origin"
    return response


def _static(name: str, mimetype: str) -> Response:
    response = send_from_directory(current_app.static_folder or "static", name, mimetype=mimetype,
                                   max_age=300)
    return response


@endpoint(bp, "/widget.js", ["GET"], Operation(
    summary="The chat widget: <script src=\".../widget.js\" data-yeban=\"https://host\"></script>",
    tag="web", content_type="application/javascript"))
def widget() -> Response:
    return _static("widget.js", "application/javascript")


@endpoint(bp, "/demo", ["GET"], Operation(summary="A mock product page with the chat widget", tag="web",
                                          content_type="text/html"))
def demo() -> str:
    product, variants = None, []
    product_id = request.args.get("product", "").strip()
    knowledge = services().knowledge
    if product_id and knowledge is not None:
        product = knowledge.product(product_id)
        variants = knowledge.variants(product_id) if product is not None else []
    return render_template("demo.html", base=request.host_url.rstrip("/"), product=product, variants=variants)


@endpoint(bp, "/console", ["GET"], Operation(
    summary="The agent and operator console (token login)", tag="web", content_type="text/html"))
def console() -> str:
    labels = {intent.name: intent.zh for intent in load_taxonomy()}
    return render_template("console.html", night_start=NIGHT_START_HOUR, night_end=NIGHT_END_HOUR,
                           intent_labels=labels)
