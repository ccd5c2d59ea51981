"""Run the API under gunicorn in the background (``python -m qa_api.serve start|stop|status``).

``make demo`` uses this: ``start`` launches gunicorn (2 workers, settings from
``gunicorn.conf.py``) as a daemon with a pid file under ``var/run/`` and logs
under ``var/log/``, and returns once ``/readyz`` answers 200 (or fails with
the tail of the log). ``stop`` sends SIGTERM and waits for a graceful exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from graph.processes import pid_alive, terminate
from schema.settings import PROJECT_ROOT, Settings, load_settings


class ServeError(Exception):
    """gunicorn could not be started or stopped."""


@dataclass(frozen=True)
class ApiStatus:
    running: bool
    pid: int | None
    url: str
    ready: bool


class ApiServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pid_file = settings.var_dir / "run" / "gunicorn.pid"
        self.log_file = settings.log_dir / "api.log"
        self.url = f"http://{settings.api_host}:{settings.api_port}"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if pid_alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def _get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.settings.api_host, self.settings.api_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def ready(self) -> bool:
        try:
            return self._get("/readyz")[0] == 200
        except OSError:
            return False

    def status(self) -> ApiStatus:
        pid = self._pid()
        return ApiStatus(pid is not None, pid, self.url, pid is not None and self.ready())

    def start(self, timeout_s: float = 600.0) -> ApiStatus:
        if self._pid() is not None:
            return self.status()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = [str(gunicorn), "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "--daemon",
               "--pid", str(self.pid_file), "--error-logfile", str(self.log_file),
               "--access-logfile", str(self.log_file), "qa_api.wsgi:create_wsgi_app()"]
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ServeError(f"gunicorn failed to start: {proc.stderr.strip()[-2000:]}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                return self.status()
            if self._pid() is None and time.monotonic() > deadline - timeout_s + 10:
                break
            time.sleep(1.0)
        tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-30:]) \
            if self.log_file.exists() else ""
        readyz = ""
        try:
            readyz = self._get("/readyz")[1].decode(errors="replace")
        except OSError:
            pass
        raise ServeError(f"the API did not become ready at {self.url}/readyz: {readyz}\n{tail}")

    def stop(self, timeout_s: float = 60.0) -> ApiStatus:
        pid = self._pid()
        if pid is not None:
            terminate(pid, "gunicorn", timeout_s, poll_s=0.2)
            self.pid_file.unlink(missing_ok=True)
        return self.status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa_api.serve", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    server = ApiServer(load_settings())
    try:
        status = getattr(server, args.command)()
    except ServeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(status)))
    return 0 if (status.ready or args.command == "stop") else 3


if __name__ == "__main__":
    sys.exit(main())
