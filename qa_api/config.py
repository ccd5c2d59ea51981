"""The API's configuration, derived from ``Settings`` in one place.

``api_config(settings, overrides)`` is the only function that reads the
API-specific settings fields; until they are declared on ``Settings`` it falls
back to the defaults below. ``overrides`` is the Flask-style ``test_config``
mapping (keys are ``ApiConfig`` field names, case-insensitive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ops.redis import RedisServerConfig
from schema.settings import Settings


@dataclass(frozen=True)
class ApiConfig:
    # --- serving -------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    max_message_chars: int = 500
    json_logs: bool = True
    log_level: str = "INFO"
    trusted_proxies: int = 0  # how many reverse proxies set X-Forwarded-For in front of us
    readiness_timeout_s: float = 2.0
    # --- auth: "token:role[:name],..." and/or a file with one token:role[:name] per line
    api_tokens: str = field(default="", repr=False)
    api_tokens_file: Path | None = None
    # --- rate limits (token buckets): capacity and refill per second ---------------
    rate_session_burst: int = 20
    rate_session_per_s: float = 0.5
    rate_client_burst: int = 120
    rate_client_per_s: float = 5.0
    # --- state backends ----------------------------------------------------------------
    redis_url: str | None = None     # an external Redis; None = local Redis if running, else memory
    redis_mode: str = "auto"         # auto | redis | memory
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_prefix: str = "yeban:"
    redis_dir: Path = Path("var/redis")
    redis_log_file: Path = Path("var/log/redis.log")
    redis_appendfsync: str = "everysec"
    session_ttl_s: int = 1800
    session_max_history: int = 40
    events_db: Path = Path("var/events.sqlite3")
    uploads_dir: Path = Path("var/uploads")  # operators' uploaded change-set files, kept for audit
    # --- agents --------------------------------------------------------------------------
    agent_hours: str = "09:00-24:00"
    agent_timezone: str = "Asia/Shanghai"

    @property
    def redis_server(self) -> RedisServerConfig:
        return RedisServerConfig(home=self.redis_dir, log_file=self.redis_log_file,
                                 host=self.redis_host, port=self.redis_port, external_url=self.redis_url,
                                 appendfsync=self.redis_appendfsync)


# ApiConfig field -> Settings attribute the lead will declare (same name, ``api_`` prefix where
# the bare name would be ambiguous in Settings).
_SETTINGS_NAMES: dict[str, str] = {
    "host": "api_host",
    "port": "api_port",
    "workers": "api_workers",
    "max_message_chars": "api_max_message_chars",
    "json_logs": "api_json_logs",
    "log_level": "log_level",
    "trusted_proxies": "api_trusted_proxies",
    "readiness_timeout_s": "api_readiness_timeout_s",
    "rate_session_burst": "api_rate_session_burst",
    "rate_session_per_s": "api_rate_session_per_s",
    "rate_client_burst": "api_rate_client_burst",
    "rate_client_per_s": "api_rate_client_per_s",
    "redis_url": "redis_url",
    "redis_mode": "redis_mode",
    "redis_host": "redis_host",
    "redis_port": "redis_port",
    "redis_prefix": "redis_prefix",
    "redis_appendfsync": "redis_appendfsync",
    "session_ttl_s": "session_ttl_s",
    "session_max_history": "session_max_history",
    "agent_hours": "agent_hours",
    "agent_timezone": "agent_timezone",
}


def _secret(value: Any) -> str:
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value)


def api_config(settings: Settings, overrides: Mapping[str, Any] | None = None) -> ApiConfig:
    """Build the API configuration from settings, then apply ``overrides``."""
    defaults = ApiConfig()
    values: dict[str, Any] = {
        name: getattr(settings, attr, getattr(defaults, name)) for name, attr in _SETTINGS_NAMES.items()
    }
    values["api_tokens"] = _secret(getattr(settings, "api_tokens", None))
    tokens_file = getattr(settings, "api_tokens_file", None)
    values["api_tokens_file"] = Path(tokens_file) if tokens_file else None
    values["redis_dir"] = getattr(settings, "redis_dir", settings.var_dir / "redis")
    values["redis_log_file"] = settings.log_dir / "redis.log"
    values["events_db"] = getattr(settings, "events_db", settings.var_dir / "events.sqlite3")
    values["uploads_dir"] = getattr(settings, "uploads_dir", settings.var_dir / "uploads")
    config = ApiConfig(**values)
    if overrides:
        known = {f.name for f in fields(ApiConfig)}
        changes = {k.lower(): v for k, v in overrides.items()}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown API config keys: {', '.join(unknown)}")
        config = replace(config, **changes)
    if config.redis_mode not in ("auto", "redis", "memory"):
        raise ValueError(f"redis_mode must be auto, redis or memory, not {config.redis_mode!r}")
    return config
