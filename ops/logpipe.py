"""Copy lines from stdin into a log file rotated by size (``python -m ops.logpipe FILE``).

gunicorn's master and workers all write their JSON lines to one pipe; this
single reader is the only writer of ``var/log/api.log``, so rotation is safe
across processes (several processes rotating one file on their own would lose
or interleave lines). A line that is not a JSON object (a message a library
prints to stderr itself) is wrapped into one, masked like every log record, so
the file stays JSON lines. It exits when the last writer closes the pipe.
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from schema.privacy import mask


class LinePipe:
    """Writes whole lines to ``path``, rolling it to ``path.1`` .. ``path.N`` past ``max_bytes``.

    >>> pipe = LinePipe(Path("var/log/api.log"), max_bytes=10_000_000, backups=5)
    >>> pipe.write("{\\"message\\": \\"hello\\"}")
    >>> pipe.close()
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        if max_bytes <= 0 or backups < 1:
            raise ValueError(f"max_bytes must be > 0 and backups >= 1 (got {max_bytes}, {backups})")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups,
                                                             encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(message)s"))

    def write(self, line: str) -> None:
        record = logging.makeLogRecord({"msg": line, "args": None, "levelno": logging.INFO})
        self._handler.emit(record)

    def close(self) -> None:
        self._handler.close()


def as_json_line(line: str) -> str:
    """``line`` itself when it is a JSON object, else a masked JSON record holding it."""
    if line.startswith("{"):
        try:
            if isinstance(json.loads(line), dict):
                return line
        except ValueError:
            pass
    return json.dumps({"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": "INFO",
                       "logger": "stderr", "message": mask(line)}, ensure_ascii=False)


def copy(stream: BinaryIO, pipe: LinePipe) -> int:
    """Copy ``stream`` line by line into ``pipe`` until end of file; returns the number of lines."""
    count = 0
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line:
            pipe.write(as_json_line(line))
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.logpipe", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--max-bytes", type=int, default=10_000_000)
    parser.add_argument("--backups", type=int, default=5)
    args = parser.parse_args(argv)
    pipe = LinePipe(args.file, args.max_bytes, args.backups)
    try:
        copy(sys.stdin.buffer, pipe)
    finally:
        pipe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
