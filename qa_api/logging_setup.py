"""JSON-lines logging with personal data masked in every record.

``schema.privacy.mask`` hides mobile numbers, street addresses, order numbers
and contacts; ``JsonFormatter`` applies it to the message, the exception text
and every string field it writes (``mask`` is re-exported here for callers).
Logging is configured only by the app factory (``configure_logging``) and by
``gunicorn.conf.py`` (``gunicorn_logconfig``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from schema.privacy import mask, masked

_STD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


__all__ = ["JsonAccessFormatter", "JsonFormatter", "configure_logging", "gunicorn_logconfig", "mask"]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extras; all masked."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(masked(payload), ensure_ascii=False, default=str)


class JsonAccessFormatter(JsonFormatter):
    """gunicorn's access records: structured fields from its atoms dict, masked."""

    def format(self, record: logging.LogRecord) -> str:
        atoms = record.args if isinstance(record.args, dict) else {}
        if not atoms:
            return super().format(record)
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "remote": atoms.get("h"),
            "method": atoms.get("m"),
            "path": atoms.get("U"),
            "query": atoms.get("q"),
            "status": atoms.get("s"),
            "bytes": atoms.get("B"),
            "duration_ms": round(float(atoms.get("D", 0) or 0) / 1000, 2),
            "user_agent": atoms.get("a"),
            "pid": atoms.get("p"),
        }
        return json.dumps(masked(payload), ensure_ascii=False, default=str)


_HANDLER_MARK = "_yeban_json_handler"


def configure_logging(level: str = "INFO") -> None:
    """Send the root logger's records to stderr as masked JSON lines (idempotent)."""
    root = logging.getLogger()
    # Under gunicorn, gunicorn.conf.py has already given the root logger a JSON handler.
    if not any(getattr(h, _HANDLER_MARK, False) or isinstance(h.formatter, JsonFormatter)
               for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(level.upper())


def gunicorn_logconfig(level: str = "INFO") -> dict[str, Any]:
    """A ``logconfig_dict`` for gunicorn: JSON error and access logs on stderr/stdout."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "qa_api.logging_setup.JsonFormatter"},
            "access": {"()": "qa_api.logging_setup.JsonAccessFormatter"},
        },
        "handlers": {
            "error": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
        },
        "root": {"level": level.upper(), "handlers": ["error"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }
