"""Chat against the real gunicorn server (2 workers sharing sessions through
Redis) with the demo store in the test Neo4j: facts, state and sources."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.knowledge import GraphKnowledge
from schema.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.slow
GUNICORN = Path(sys.executable).with_name("gunicorn")
AGENT_TOKEN = "gunicorn-agent-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, body: dict | None = None,
             token: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, json.dumps(body, ensure_ascii=False).encode() if body else None, headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(demo_graph, settings, redis_server, tmp_path_factory) -> Iterator[tuple[int, GraphKnowledge]]:
    port = _free_port()
    logs = tmp_path_factory.mktemp("gunicorn-chat")
    env = {**os.environ, "NEO4J_URI": settings.bolt_uri, "YEBAN_VAR_DIR": str(settings.var_dir),
           "YEBAN_ENCODER_MODEL": str(load_settings().default_encoder_dir),
           "YEBAN_REDIS_URL": redis_server.url, "YEBAN_API_HOST": "127.0.0.1", "YEBAN_API_PORT": str(port),
           "YEBAN_API_TOKENS": f"{AGENT_TOKEN}:agent:gina",
           # Agents on duty around the clock: these tests are about the in-hours hand-off (the
           # bot stays silent while a person has the conversation), whatever time CI runs.
           "YEBAN_AGENT_HOURS": "00:00-24:00", "YEBAN_ENV_FILE": str(logs / "none.env")}
    with open(logs / "out.log", "wb") as out, open(logs / "err.log", "wb") as err:
        proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "qa_api.wsgi:create_wsgi_app()"],
                                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 600  # both workers load the models
        ready = False
        while time.monotonic() < deadline and proc.poll() is None and not ready:
            try:
                ready = _request(port, "GET", "/readyz")[0] == 200
            except OSError:
                pass
            time.sleep(1.0)
        assert ready, (logs / "err.log").read_text()[-3000:]
        yield port, GraphKnowledge(demo_graph, settings.neo4j_database)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _chat(port: int, session: str, message: str) -> dict:
    status, body = _request(port, "POST", "/v1/chat", {"session_id": session, "message": message})
    assert status == 200, body
    return body


def test_stock_answer_and_follow_up_across_workers(served):
    port, kg = served
    (white_m,) = kg.variants("P1002", color="白底碎花", size="M")
    r = _chat(port, "g-stock", "云裳碎花裙白底碎花M码还有几件")
    assert r["state"] == "answered" and f"{white_m.stock} 件" in r["reply"]
    assert {"kind": "variant", "id": white_m.sku} in r["sources"]
    # Several follow-ups: whichever worker takes them, the session (in Redis) knows the product.
    for _ in range(3):
        r = _chat(port, "g-stock", "它哪些尺码有货")
        assert {"kind": "product", "id": "P1002"} in r["sources"]


def test_policy_exclusion_over_http(served):
    port, kg = served
    r = _chat(port, "g-policy", "棉语无痕乳胶文胸能七天无理由退货吗")
    in_force = {c.policy_id for c in kg.clauses_in_force(product_id="P1085")}
    policies = {s["id"] for s in r["sources"] if s["kind"] == "policy"}
    assert policies and policies <= in_force and "POL-RETURN-7D" not in policies


def test_handoff_is_queued_for_agents(served):
    port, _ = served
    r = _chat(port, "g-human", "转人工")
    assert r["state"] == "handoff"
    status, body = _request(port, "GET", "/v1/handoffs?status=queued", token=AGENT_TOKEN)
    assert status == 200
    assert any(t["ticket_id"] == r["handoff"]["ticket_id"] for t in body["tickets"])
    assert "工单" in _chat(port, "g-human", "在吗")["reply"]  # queued, no person yet: acknowledged
