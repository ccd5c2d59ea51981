"""JSON-lines logging with personal data masked in every record.

``mask(text)`` hides mobile numbers (``138****5678``), the street part of
Chinese addresses (``浙江省杭州市西湖区***``) and order numbers (16 digits,
last four kept). ``JsonFormatter`` applies it to the message, the exception
text and every string field it writes. Logging is configured only by the app
factory (``configure_logging``) and by ``gunicorn.conf.py`` (``gunicorn_logconfig``).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

_ORDER = re.compile(r"(?<!\d)\d{12}(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
# One or more administrative divisions, then the detailed part of the address.
_DIVISIONS = r"(?:[\u4e00-\u9fff]{1,10}?(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|旗))+"
_DETAIL = r"[\u4e00-\u9fff0-9A-Za-z\-#－—()（）]{2,60}"
_ADDRESS = re.compile(f"({_DIVISIONS})({_DETAIL})")
_ADDRESS_MARKERS = re.compile(r"[0-9路街道巷弄号栋幢单元室楼村镇乡组苑园庄屯]|小区|大厦|公寓|花园|广场|中心")

_STD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _mask_address(match: re.Match[str]) -> str:
    prefix, detail = match.group(1), match.group(2)
    if not _ADDRESS_MARKERS.search(detail):
        return match.group(0)
    return prefix + "***"


def mask(text: str) -> str:
    """Hide order numbers, mobile numbers and street addresses in ``text``."""
    if not text:
        return text
    text = _ORDER.sub(lambda m: "*" * 12 + m.group(1), text)
    text = _PHONE.sub(r"\1****\2", text)
    return _ADDRESS.sub(_mask_address, text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask(str(value))


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
        return json.dumps(_masked(payload), ensure_ascii=False, default=str)


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
        return json.dumps(_masked(payload), ensure_ascii=False, default=str)


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
