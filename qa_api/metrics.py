"""Prometheus metrics of one application, in its own ``CollectorRegistry``.

Nothing is registered globally, so several apps (tests, workers) never clash.
Each gunicorn worker exposes its own counters on ``/metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


@dataclass
class ApiMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "yeban_http_requests", "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"], registry=self.registry)
        self.chat_latency = Histogram(
            "yeban_chat_latency_seconds", "Time to answer one chat message",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0), registry=self.registry)
        self.intents = Counter("yeban_intents", "Chat messages by predicted intent", ["intent"],
                               registry=self.registry)
        self.handoffs = Counter("yeban_handoffs", "Hand-offs to human agents by reason", ["reason"],
                                registry=self.registry)
        self.rate_limited = Counter("yeban_rate_limited", "Chat messages refused by a rate limit",
                                    ["scope"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
