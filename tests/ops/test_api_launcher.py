"""``python -m ops.api``: the real start-up error, JSON logs in var/log/api.log, rotated by size."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import psutil
import pytest

from ops.api import ApiServer, startup_error
from ops.errors import ApiLaunchError
from ops.logpipe import LinePipe
from schema.settings import PROJECT_ROOT, load_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_start_prints_the_token_rule_when_a_token_is_too_short(tmp_path, monkeypatch):
    monkeypatch.setenv("YEBAN_API_TOKENS", "short:admin")
    monkeypatch.setenv("YEBAN_REDIS_MODE", "memory")
    monkeypatch.setenv("YEBAN_API_WORKERS", "1")
    monkeypatch.setenv("YEBAN_ENV_FILE", str(tmp_path / "none.env"))
    server = ApiServer(load_settings(var_dir=tmp_path / "var", api_port=_free_port()))
    with pytest.raises(ApiLaunchError, match="TokenConfigError: API tokens must be at least 8 characters long"):
        server.start(timeout_s=120)
    assert not server.pid_file.exists()
    assert not server.status().running
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(server.settings.api_port) in " ".join(p.info["cmdline"] or []) and p.pid != psutil.Process().pid]
    records = [json.loads(line) for line in server.log_file.read_text().splitlines()]  # JSON lines only
    assert any(r.get("startup_error", "").startswith("TokenConfigError") for r in records)


def test_cli_start_exits_1_with_the_reason_on_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "YEBAN_VAR_DIR": str(tmp_path / "var"), "YEBAN_API_PORT": str(_free_port()),
           "YEBAN_API_TOKENS": "abc:admin", "YEBAN_REDIS_MODE": "memory", "YEBAN_API_WORKERS": "1",
           "YEBAN_ENV_FILE": str(tmp_path / "none.env")}
    proc = subprocess.run([sys.executable, "-m", "ops.api", "start"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: the API did not start")
    assert "API tokens must be at least 8 characters long" in proc.stderr


def test_startup_error_prefers_the_factory_record_then_the_traceback():
    lines = ['{"message": "Booting worker"}',
             '{"message": "the API cannot start", "startup_error": "ValueError: bad redis_mode"}',
             '{"message": "Exception in worker process", "exc": "Traceback...\\nKeyError: x"}']
    assert startup_error(lines) == "ValueError: bad redis_mode"
    assert startup_error(lines[:1] + lines[2:]) == "KeyError: x"
    assert startup_error(["not json", "pydantic ValidationError: api_port"]) == "pydantic ValidationError: api_port"
    wrapped = '{"logger": "stderr", "message": "Error: gunicorn.conf.py failed"}'
    assert startup_error(['{"logger": "gunicorn.error", "message": "Starting"}', wrapped]) == \
        "Error: gunicorn.conf.py failed"


def test_log_pipe_rotates_by_size_and_keeps_whole_lines(tmp_path):
    log = tmp_path / "api.log"
    lines = [json.dumps({"n": i, "message": "夜班" * 20}, ensure_ascii=False) for i in range(400)]
    proc = subprocess.run([sys.executable, "-m", "ops.logpipe", str(log), "--max-bytes", "4000", "--backups", "3"],
                          input="\n".join(lines).encode() + b"\n", cwd=PROJECT_ROOT, timeout=60)
    assert proc.returncode == 0
    files = [log, *(log.with_name(f"api.log.{i}") for i in (1, 2, 3))]
    assert all(f.exists() for f in files) and not log.with_name("api.log.4").exists()
    assert all(f.stat().st_size <= 4000 for f in files)
    kept = [json.loads(line)["n"] for f in reversed(files) for line in f.read_text().splitlines()]
    assert kept == list(range(400 - len(kept), 400))  # the newest lines, in order, none cut


def test_log_pipe_wraps_plain_lines_as_masked_json(tmp_path):
    log = tmp_path / "api.log"
    subprocess.run([sys.executable, "-m", "ops.logpipe", str(log)], input=b"call me 13812345678\n{\"a\": 1}\n",
                   cwd=PROJECT_ROOT, timeout=60, check=True)
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["logger"] == "stderr" and first["message"] == "call me 138****5678"
    assert second == {"a": 1}


def test_line_pipe_refuses_a_nonsense_size(tmp_path):
    with pytest.raises(ValueError, match="max_bytes must be > 0"):
        LinePipe(tmp_path / "x.log", 0, 1)
