"""Run the API under gunicorn in the background (``python -m ops.api start|stop|status``).

``make demo`` uses this. ``start`` launches gunicorn (workers and threads from
``gunicorn.conf.py``) in its own session with a pid file under ``var/run/``
(the master's pid, written by this launcher);
its JSON access and application lines (master and workers) go through one
pipe into ``python -m ops.logpipe``, the single writer of ``var/log/api.log``,
rotated by size (settings ``api_log_max_bytes``, ``api_log_backups``).
``start`` returns once ``/readyz`` answers 200; when the API cannot start it
fails with the real reason (the exception a worker raised while booting, e.g.
the token rule, or the failing readiness check) and stops what it started.
``stop`` sends SIGTERM and waits for a graceful exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ops.errors import ApiLaunchError
from ops.processes import PidFile, terminate
from schema.settings import PROJECT_ROOT, Settings, load_settings

# A worker that fails while building the app logs one record with this field (qa_api.wsgi).
STARTUP_ERROR_FIELD = "startup_error"
# Readiness checks whose failure no wait can cure (the worker must be restarted).
PERMANENT_CHECKS = ("engine_build",)


@dataclass(frozen=True)
class ApiStatus:
    running: bool
    pid: int | None
    url: str
    ready: bool


def startup_error(log_lines: list[str]) -> str | None:
    """The reason the API could not start, read from its JSON log lines (newest last).

    Prefers the record ``qa_api.wsgi`` writes for a failed build; falls back to
    the last line of the last logged traceback, then to the last plain stderr line
    (an error in ``gunicorn.conf.py`` before logging is configured).
    """
    last_exc: str | None = None
    for line in reversed(log_lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get(STARTUP_ERROR_FIELD):
            return str(record[STARTUP_ERROR_FIELD])
        if last_exc is None and record.get("exc"):
            last_exc = str(record["exc"]).strip().splitlines()[-1]
    if last_exc is not None:
        return last_exc
    for line in reversed(log_lines):  # a plain line (wrapped by ops.logpipe or not)
        try:
            record = json.loads(line)
        except ValueError:
            record = {"message": line}
        if isinstance(record, dict) and record.get("logger", "stderr") == "stderr" and record.get("message"):
            return str(record["message"]).strip()
    return None


class ApiServer:
    """gunicorn serving ``qa_api.wsgi:create_wsgi_app()``, started in the background.

    >>> server = ApiServer(load_settings())
    >>> server.start().ready    # raises ApiLaunchError naming the reason when it cannot start
    True
    >>> server.stop()
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pid_file = settings.var_dir / "run" / "gunicorn.pid"
        self._pids = PidFile(self.pid_file, marker="gunicorn")
        self.log_file = settings.log_dir / "api.log"
        self.url = f"http://{settings.api_host}:{settings.api_port}"

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
        pid = self._pids.read()
        return ApiStatus(pid is not None, pid, self.url, pid is not None and self.ready())

    def _env(self) -> dict[str, str]:
        """The child's environment: the caller's, with the settings this launcher was given for
        where to serve and where ``var/`` is, so that gunicorn and the launcher agree."""
        env = dict(os.environ)
        env.update({"YEBAN_VAR_DIR": str(self.settings.var_dir), "YEBAN_API_HOST": self.settings.api_host,
                    "YEBAN_API_PORT": str(self.settings.api_port)})
        return env

    def _log_lines_since(self, offset: int) -> list[str]:
        try:
            with open(self.log_file, "rb") as f:
                f.seek(offset if f.seek(0, os.SEEK_END) >= offset else 0)
                return f.read().decode("utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def _permanent_failure(self) -> str | None:
        try:
            status, body = self._get("/readyz")
        except OSError:
            return None
        if status == 200:
            return None
        try:
            checks = json.loads(body).get("checks", {})
        except ValueError:
            return None
        for name in PERMANENT_CHECKS:
            check = checks.get(name) or {}
            if check and not check.get("ok", True):
                return f"{name}: {check.get('detail')}"
        return None

    def start(self, timeout_s: float = 600.0) -> ApiStatus:
        """Start gunicorn and wait for ``/readyz``; no-op if running.

        Raises ApiLaunchError with the reason when gunicorn exits during start-up,
        a permanent readiness check fails, or ``timeout_s`` passes.
        """
        if self._pids.read() is not None:
            return self.status()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        logpipe = subprocess.Popen(
            [sys.executable, "-m", "ops.logpipe", str(self.log_file),
             "--max-bytes", str(self.settings.api_log_max_bytes), "--backups", str(self.settings.api_log_backups)],
            cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        assert logpipe.stdin is not None
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = [str(gunicorn), "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "qa_api.wsgi:create_wsgi_app()"]
        try:
            proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=self._env(), stdin=subprocess.DEVNULL,
                                    stdout=logpipe.stdin, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            logpipe.stdin.close()  # gunicorn holds the pipe now; the log pipe ends when gunicorn does
        self._pids.write(proc.pid)
        deadline = time.monotonic() + timeout_s
        reason = f"no answer from {self.url}/readyz within {timeout_s:.0f}s"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                logpipe.wait(10)
                found = startup_error(self._log_lines_since(offset))
                reason = f"gunicorn exited with code {proc.returncode}: {found or 'see ' + str(self.log_file)}"
                break
            if self.ready():
                return self.status()
            permanent = self._permanent_failure()
            if permanent:
                reason = f"a worker started but cannot serve chat ({permanent})"
                break
            time.sleep(0.5)
        if proc.poll() is None:
            terminate(proc.pid, "gunicorn", 60.0, poll_s=0.2)
        self._pids.clear()
        raise ApiLaunchError(f"the API did not start at {self.url}: {reason} (log: {self.log_file})")

    def stop(self, timeout_s: float = 60.0) -> ApiStatus:
        """SIGTERM gunicorn and wait until it has exited; no-op if stopped."""
        pid = self._pids.read()
        if pid is not None:
            terminate(pid, "gunicorn", timeout_s, poll_s=0.2)
            self._pids.clear()
        return self.status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.api", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    server = ApiServer(load_settings())
    try:
        status = getattr(server, args.command)()
    except ApiLaunchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(status)))
    return 0 if (status.ready or args.command == "stop") else 3


if __name__ == "__main__":
    sys.exit(main())
