"""The local Neo4j launcher: lifecycle, idempotence, stale pid files, bad configs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graph.driver import connect
from graph.errors import GraphUnavailableError
from ops.errors import Neo4jLaunchError
from ops.neo4j import LocalNeo4j
from schema.settings import PROJECT_ROOT, load_settings
from tests import ports


@pytest.fixture(scope="module")
def scratch_server(tmp_path_factory):
    """A second, throwaway server on its own port and store."""
    var = tmp_path_factory.mktemp("neo4j-scratch")
    server = LocalNeo4j(load_settings(var_dir=var, neo4j_port=ports.NEO4J_SCRATCH_LIFECYCLE, neo4j_heap="512m",
                                      neo4j_pagecache="128m", neo4j_tx_memory="256m"))
    yield server
    server.stop()


def test_start_is_idempotent_and_status_reports(scratch_server):
    first = scratch_server.start()
    assert first.running and first.pid
    again = scratch_server.start()
    assert again.pid == first.pid
    status = scratch_server.status()
    assert status.bolt_uri == f"bolt://127.0.0.1:{ports.NEO4J_SCRATCH_LIFECYCLE}"
    assert status.store_bytes > 0
    drv = connect(scratch_server.settings)
    try:
        records, _, _ = drv.execute_query("RETURN 1 + 1 AS two", database_="neo4j")
        assert records[0]["two"] == 2
    finally:
        drv.close()


def test_stop_is_idempotent_and_waits(scratch_server):
    scratch_server.start()
    pid = scratch_server.status().pid
    stopped = scratch_server.stop()
    assert not stopped.running
    assert not Path(f"/proc/{pid}").exists()
    assert not scratch_server.pid_file.exists()
    assert not scratch_server.stop().running


def test_stale_pid_file_is_cleaned(scratch_server):
    scratch_server.stop()
    scratch_server.pid_file.parent.mkdir(parents=True, exist_ok=True)
    # A pid that is certainly not our Java server: this test process itself.
    import os

    scratch_server.pid_file.write_text(str(os.getpid()))
    assert not scratch_server.status().running
    assert not scratch_server.pid_file.exists()
    scratch_server.pid_file.write_text("999999")
    status = scratch_server.start()
    assert status.running and status.pid != 999999
    scratch_server.stop()


def test_cypher_runs_over_bolt_on_project_server(driver, settings):
    records, summary, _ = driver.execute_query("RETURN $x * 2 AS y", x=21,
                                               database_=settings.neo4j_database)
    assert records[0]["y"] == 42
    assert summary.server.address.port == settings.neo4j_port


def _run_cli(module: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", module], capture_output=True, text=True,
                          env=env, cwd=PROJECT_ROOT, timeout=60)


def test_wrong_uri_gives_one_line_error():
    proc = _run_cli("graph.migrate", {"NEO4J_URI": "bolt://127.0.0.1:1"})
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: Neo4j is not reachable")
    assert "Traceback" not in proc.stderr


def test_wrong_password_gives_one_line_error(neo4j_server, settings):
    proc = _run_cli("graph.migrate", {"NEO4J_URI": settings.bolt_uri,
                                      "NEO4J_PASSWORD": "definitely-wrong"})
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: Neo4j refused the credentials (check NEO4J_USER / NEO4J_PASSWORD)"
    )


def test_malformed_uri_is_reported(settings):
    bad = settings.model_copy(update={"neo4j_uri": "http//nowhere"})
    with pytest.raises(GraphUnavailableError, match="invalid Neo4j URI"):
        connect(bad)


def test_start_refuses_a_port_held_by_another_process(tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        server = LocalNeo4j(load_settings(var_dir=tmp_path, neo4j_port=port))
        with pytest.raises(Neo4jLaunchError, match=f"port {port} .* already in use"):
            server.start()
        assert not server.pid_file.exists()
