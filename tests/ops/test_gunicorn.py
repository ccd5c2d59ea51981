"""The production entry point: gunicorn with two workers, the factory call, JSON logs."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from schema.settings import PROJECT_ROOT

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"X-Trace": "13812345678"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture()
def gunicorn_server(tmp_path, redis_server):
    port = _free_port()
    env = {**os.environ, "YEBAN_VAR_DIR": str(tmp_path / "var"), "YEBAN_API_HOST": "127.0.0.1",
           "YEBAN_API_PORT": str(port), "YEBAN_REDIS_URL": redis_server.url,
           "YEBAN_ENV_FILE": str(tmp_path / "none.env")}
    out = open(tmp_path / "stdout.log", "wb")
    err = open(tmp_path / "stderr.log", "wb")
    proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "qa_api.wsgi:create_wsgi_app()"],
                            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if _get(port, "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        yield proc, port, tmp_path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        err.close()


def test_gunicorn_serves_with_two_workers_and_json_logs(gunicorn_server):
    proc, port, tmp = gunicorn_server
    assert proc.poll() is None, (tmp / "stderr.log").read_text()
    status, body = _get(port, "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, body = _get(port, "/openapi.json")
    assert status == 200 and "/v1/chat" in json.loads(body)["paths"]
    workers: list = []
    for _ in range(100):
        workers = psutil.Process(proc.pid).children()
        if len(workers) == 2:
            break
        time.sleep(0.1)
    assert len(workers) == 2, (tmp / "stderr.log").read_text()
    expected = {("GET", "/healthz", "200"), ("GET", "/openapi.json", "200")}
    seen: set = set()
    deadline = time.monotonic() + 30  # the access log of another worker may be flushed late under load
    while time.monotonic() < deadline and not seen >= expected:
        access = [json.loads(line) for line in (tmp / "stdout.log").read_text().splitlines()]
        seen = {(a["method"], a["path"], a["status"]) for a in access}
        time.sleep(0.2)
    assert seen >= expected
    errors = [json.loads(line) for line in (tmp / "stderr.log").read_text().splitlines() if line.startswith("{")]
    assert errors and all({"ts", "level", "logger", "message"} <= set(e) for e in errors)
    assert any("Booting worker" in e["message"] for e in errors)
