"""Process helpers shared by the launchers: pid files, liveness, termination, ports, log tails."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def cmdline_has(pid: int, marker: str) -> bool:
    """True when the command line of ``pid`` contains ``marker`` (a pid reused by another program is not ours)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


def gone(pid: int) -> bool:
    """True once the process has fully exited, reaping it if it is our child.

    A multi-threaded server's main thread (a JVM's, redis-server's) can be a
    zombie while its other threads still shut down, so /proc/PID is the test,
    not the thread's state.
    """
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass  # not our child: whoever started it (or init) reaps it
    return not Path(f"/proc/{pid}").exists()


def terminate(pid: int, name: str, timeout_s: float, poll_s: float = 0.1) -> None:
    """SIGTERM ``pid`` and wait until it is gone; SIGKILL it after ``timeout_s``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(poll_s)
    if not gone(pid):
        logger.warning("%s (pid %s) ignored SIGTERM for %ss; killing it", name, pid, timeout_s)
        os.kill(pid, signal.SIGKILL)
        while not gone(pid):
            time.sleep(poll_s)


class PidFile:
    """A pid file whose process must still run ``marker`` to count.

    >>> pids = PidFile(Path("var/redis/redis.pid"), marker="redis-server")
    >>> pids.read()          # None, cleaning the file, when the process is gone or is another program
    """

    def __init__(self, path: Path, marker: str | None = None) -> None:
        self.path = path
        self.marker = marker

    def read(self) -> int | None:
        """The pid of our running process, removing a stale or unreadable file."""
        try:
            pid = int(self.path.read_text().strip())
        except FileNotFoundError:
            return None
        except ValueError:
            logger.warning("removing unreadable pid file %s", self.path)
            self.clear()
            return None
        if pid_alive(pid) and (self.marker is None or cmdline_has(pid, self.marker)):
            return pid
        logger.warning("removing stale pid file %s (pid %s is not running)", self.path, pid)
        self.clear()
        return None

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(str(pid))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def exists(self) -> bool:
        return self.path.exists()


def port_in_use(host: str, port: int) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or a note that it does not exist."""
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])
