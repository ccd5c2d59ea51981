"""Start, stop and inspect the project's own Neo4j (``python -m ops.neo4j start|stop|status|build``).

The server is Neo4j Community 5.26 embedded in a small Java launcher
(``ops/neo4j_server``) whose jars Maven takes from Maven Central. Data lives
under ``var/neo4j/``, logs under ``var/log/``. When ``NEO4J_URI`` is set the
user runs their own server and nothing here starts or stops anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from graph.driver import create_driver, verify
from graph.errors import GraphError, GraphUnavailableError
from ops.errors import LaunchError, Neo4jLaunchError
from ops.processes import PidFile, port_in_use, tail, terminate
from schema.settings import Settings, load_settings

logger = logging.getLogger(__name__)

LAUNCHER_DIR = Path(__file__).resolve().parent / "neo4j_server"
MAIN_CLASS = "yeban.Neo4jServer"


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    bolt_uri: str
    external: bool
    store_bytes: int


def _dir_size(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class LocalNeo4j:
    """The project's local Neo4j process.

    >>> server = LocalNeo4j(load_settings())
    >>> server.start()       # builds the launcher on first use, waits for Bolt
    >>> server.status().running
    True
    >>> server.stop()
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.neo4j_home
        self.pid_file = self.home / "neo4j.pid"
        self._pids = PidFile(self.pid_file, marker=MAIN_CLASS)
        self.log_dir = settings.log_dir
        self.server_log = self.log_dir / "neo4j-server.log"

    # --- build ------------------------------------------------------------
    def _require(self, tool: str, hint: str) -> str:
        path = shutil.which(tool)
        if path is None:
            raise Neo4jLaunchError(f"{tool} not found on PATH: {hint}")
        return path

    def _built(self) -> bool:
        lib = LAUNCHER_DIR / "target" / "lib"
        cls = LAUNCHER_DIR / "target" / "classes" / "yeban" / "Neo4jServer.class"
        if not (lib.is_dir() and cls.exists()):
            return False
        sources = [LAUNCHER_DIR / "pom.xml", *LAUNCHER_DIR.glob("src/**/*.java")]
        return all(src.stat().st_mtime <= cls.stat().st_mtime for src in sources)

    def build(self) -> None:
        """Compile the launcher and fetch the Neo4j jars through Maven if needed."""
        self._require("java", "install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)")
        if self._built():
            return
        mvn = self._require("mvn", "install Maven (Debian: apt-get install maven)")
        logger.info("building the Neo4j launcher with Maven (first run downloads ~120 MB)")
        proc = subprocess.run(
            [mvn, "-q", "-B", "package"], cwd=LAUNCHER_DIR, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise Neo4jLaunchError(
                "mvn package failed in ops/neo4j_server:\n" + (proc.stdout + proc.stderr)[-4000:]
            )

    # --- pid file ----------------------------------------------------------
    def _read_pid(self) -> int | None:
        """The pid of our running server, cleaning a stale pid file."""
        return self._pids.read()

    # --- lifecycle ----------------------------------------------------------
    def _bolt_ok(self) -> bool:
        driver = create_driver(self.settings)
        try:
            verify(driver, self.settings.neo4j_database)
            return True
        except GraphUnavailableError:
            return False
        finally:
            driver.close()

    def start(self) -> ServerStatus:
        """Start Neo4j and return once ``RETURN 1`` succeeds over Bolt; no-op if running."""
        if self.settings.external_neo4j:
            driver = create_driver(self.settings)
            try:
                verify(driver, self.settings.neo4j_database)
            finally:
                driver.close()
            return self.status()
        if self._read_pid() is not None:
            return self.status()
        self.build()
        if port_in_use(self.settings.neo4j_host, self.settings.neo4j_port):
            raise Neo4jLaunchError(
                f"port {self.settings.neo4j_port} on {self.settings.neo4j_host} is already in use by a process "
                f"this checkout did not start (no pid file in {self.home}); stop it or set YEBAN_NEO4J_PORT"
            )
        java = self._require("java", "install a JDK 17 or newer")
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        classpath = os.pathsep.join(
            [str(LAUNCHER_DIR / "target" / "classes"), str(LAUNCHER_DIR / "target" / "lib" / "*")]
        )
        heap = self.settings.neo4j_heap
        cmd = [
            java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
            "-cp", classpath, MAIN_CLASS,
            str(self.home), str(self.log_dir / "neo4j"),
            self.settings.neo4j_host, str(self.settings.neo4j_port),
            self.settings.neo4j_pagecache, self.settings.neo4j_tx_memory,
        ]
        env = dict(os.environ)
        env["YEBAN_NEO4J_PASSWORD"] = self.settings.neo4j_password.get_secret_value()
        with open(self.server_log, "ab") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self._pids.write(proc.pid)
        deadline = time.monotonic() + self.settings.neo4j_start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._pids.clear()
                raise Neo4jLaunchError(
                    f"Neo4j exited with code {proc.returncode} during start-up; "
                    f"tail of {self.server_log}:\n{tail(self.server_log)}"
                )
            if self._bolt_ok():
                logger.info("Neo4j is up on %s (pid %s)", self.settings.bolt_uri, proc.pid)
                return self.status()
            time.sleep(0.5)
        self._terminate(proc.pid)
        raise Neo4jLaunchError(
            f"Neo4j did not answer on {self.settings.bolt_uri} within "
            f"{self.settings.neo4j_start_timeout_s:.0f}s; tail of {self.server_log}:\n"
            f"{tail(self.server_log)}\n--- debug.log ---\n"
            f"{tail(self.log_dir / 'neo4j' / 'debug.log')}"
        )

    def _terminate(self, pid: int, timeout_s: float = 60.0) -> None:
        terminate(pid, "Neo4j", timeout_s, poll_s=0.2)
        self._pids.clear()

    def stop(self) -> ServerStatus:
        """Shut Neo4j down cleanly and wait for the process to exit; no-op if stopped."""
        if not self.settings.external_neo4j:
            pid = self._read_pid()
            if pid is not None:
                self._terminate(pid)
        return self.status()

    def status(self) -> ServerStatus:
        if self.settings.external_neo4j:
            return ServerStatus(self._bolt_ok(), None, self.settings.bolt_uri, True, 0)
        pid = self._read_pid()
        return ServerStatus(
            running=pid is not None,
            pid=pid,
            bolt_uri=self.settings.bolt_uri,
            external=False,
            store_bytes=_dir_size(self.home / "data"),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.neo4j", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status", "build"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    server = LocalNeo4j(load_settings())
    try:
        if args.command == "build":
            server.build()
            print("launcher built")
            return 0
        status = getattr(server, args.command)()
    except (GraphError, LaunchError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(status)))
    return 0 if (status.running or args.command == "stop") else 3


if __name__ == "__main__":
    sys.exit(main())
