"""Process helpers shared by the project's local service launchers (Neo4j in
``graph.server``, Redis in ``dialog.redis_server``, gunicorn in ``qa_api.serve``).
"""

from __future__ import annotations

import logging
import os
import signal
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
