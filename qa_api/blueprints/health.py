"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response

from qa_api.metrics import CONTENT_TYPE
from qa_api.routing import Operation, endpoint, json_response, services
from qa_api.schemas import CheckOut, ErrorBody, HealthOut, ReadinessOut

bp = Blueprint("health", __name__)


@endpoint(bp, "/healthz", ["GET"], Operation(summary="The process is up", tag="health", response=HealthOut))
def healthz() -> Response:
    return json_response(HealthOut(status="ok"))


@endpoint(bp, "/readyz", ["GET"], Operation(
    summary="Neo4j answers and the engine's index and models are loaded; 503 naming failing checks, "
            "200 'degraded' while a FAQ index rebuild is awaited",
    tag="health", response=ReadinessOut, errors=(503,)))
def readyz() -> Response:
    outcomes = services().check_readiness().run()
    ready = all(o.ok for o in outcomes)
    failing = [o.name for o in outcomes if not o.ok]
    status = "not_ready" if not ready else "degraded" if any(o.degraded for o in outcomes) else "ready"
    body = ReadinessOut(status=status,
                        checks={o.name: CheckOut(ok=o.ok, detail=o.detail) for o in outcomes},
                        error=None if ready else ErrorBody(code="not_ready",
                                                           message="failing checks: " + ", ".join(failing)))
    return json_response(body, 200 if ready else 503)


@endpoint(bp, "/metrics", ["GET"], Operation(
    summary="Prometheus metrics of this worker", tag="health", content_type=CONTENT_TYPE))
def metrics() -> Response:
    return Response(services().metrics.render(), mimetype=None, content_type=CONTENT_TYPE)
