"""The project's local Redis: lifecycle, idempotence, stale pid files, port clashes, external servers, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from ops.redis import LocalRedis, RedisLaunchError, RedisServerConfig, redis_executable
from schema.settings import PROJECT_ROOT
from tests import ports

SCRATCH_PORT = ports.REDIS_SCRATCH


@pytest.fixture()
def scratch(tmp_path):
    server = LocalRedis(RedisServerConfig(home=tmp_path / "redis", log_file=tmp_path / "log" / "redis.log",
                                          port=SCRATCH_PORT))
    yield server
    server.stop()


def test_bundled_binary_is_a_real_redis_server():
    out = subprocess.run([str(redis_executable()), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Redis server v=")


def test_start_is_idempotent_and_serves_commands(scratch):
    first = scratch.start()
    assert first.running and first.pid and first.url == f"redis://127.0.0.1:{SCRATCH_PORT}/0"
    assert scratch.start().pid == first.pid
    client = redis.Redis.from_url(first.url)
    try:
        client.set("k", "夜班")
        assert client.get("k").decode() == "夜班"
    finally:
        client.close()
    assert scratch.pid_file.read_text() == str(first.pid)
    assert json.loads(scratch.state_file.read_text())["url"] == first.url


def test_stop_waits_for_exit_and_is_idempotent(scratch):
    pid = scratch.start().pid
    stopped = scratch.stop()
    assert not stopped.running
    assert not Path(f"/proc/{pid}").exists()
    assert not scratch.pid_file.exists()
    assert not scratch.stop().running


def test_data_survives_a_restart(scratch):
    url = scratch.start().url
    client = redis.Redis.from_url(url)
    client.set("persist", "1")
    client.close()
    scratch.stop()  # SIGTERM makes redis save its dump under home
    assert (scratch.config.home / "dump.rdb").exists()
    client = redis.Redis.from_url(scratch.start().url)
    try:
        assert client.get("persist") == b"1"
    finally:
        client.close()


def test_stale_pid_file_is_cleaned(scratch):
    scratch.config.home.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    scratch.pid_file.write_text(str(dead.pid))
    status = scratch.status()
    assert not status.running
    assert not scratch.pid_file.exists()


def test_port_in_use_is_reported(scratch, redis_server, tmp_path):
    clash = LocalRedis(RedisServerConfig(home=tmp_path / "other", log_file=tmp_path / "other.log",
                                         port=redis_server.config.port, start_timeout_s=5))
    with pytest.raises(RedisLaunchError, match="port"):
        clash.start()
    assert not clash.pid_file.exists()


def test_external_url_is_only_pinged_never_started(redis_server, tmp_path):
    external = LocalRedis(RedisServerConfig(home=tmp_path / "ext", log_file=tmp_path / "ext.log",
                                            external_url=redis_server.url))
    status = external.start()
    assert status.external and status.running and status.pid is None
    external.stop()
    assert redis_server.status().running  # stop never touches a server we do not own
    unreachable = LocalRedis(RedisServerConfig(home=tmp_path / "x", log_file=tmp_path / "x.log",
                                               external_url="redis://127.0.0.1:1/0"))
    with pytest.raises(RedisLaunchError, match="PING"):
        unreachable.start()
    assert not unreachable.status().running


def test_cli_status_prints_json():
    proc = subprocess.run([sys.executable, "-m", "ops.redis", "status"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 3), proc.stderr
    status = json.loads(proc.stdout)
    assert set(status) == {"running", "pid", "url", "external"}
