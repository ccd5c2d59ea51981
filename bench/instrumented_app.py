"""The API app with timing proxies around the engine's parts, for ``bench.bench_api`` only.

Owns: answering "where does a chat request's time go" inside a real gunicorn
worker without editing the engine. ``create_app`` builds the normal app
(``qa_api.wsgi.create_wsgi_app``), finds the engine's parts by type (the
encoder, the graph knowledge and order services, the entity linker, the FAQ
searcher, the intent and emotion models, the session store, the hand-off
queue, the event log) wherever the engine keeps them, and wraps their public
methods on the instance. Time is accounted per request and per component as
*self* time: a call's time minus the time of wrapped calls inside it (the FAQ
searcher's time excludes the encoder it calls). ``GET /bench/timings``
returns this worker's figures; ``POST /bench/timings/reset`` clears them.

gunicorn: ``'bench.instrumented_app:create_app(rate_client_burst=...)'``.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import defaultdict
from typing import Any

from flask import Flask, jsonify, request

# Component name per class name; found by type so that the engine may keep them anywhere.
COMPONENTS = {
    "OnnxE5Encoder": "encoder", "E5Encoder": "encoder",
    "GraphKnowledge": "neo4j", "GraphOrderService": "neo4j",
    "EntityLinker": "linking",
    "FAQSearcher": "retrieval", "VectorIndex": "retrieval", "KeywordIndex": "retrieval",
    "IntentClassifier": "intent_head", "EmotionScorer": "emotion_head",
    "RedisSessionStore": "session_store", "InMemorySessionStore": "session_store",
    "RedisHandoffQueue": "handoff_queue", "InMemoryHandoffQueue": "handoff_queue",
    "SqliteEventLog": "event_log", "WriteBehindEventLog": "event_log",
}
OUR_PACKAGES = ("dialog", "retrieval", "graph", "qa_api", "ingest", "schema", "ops")


class TimingProbe:
    """Per-thread stacks of wrapped calls; per-request self time by component."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.requests: list[dict[str, float]] = []
        self.wrapped: dict[str, list[str]] = defaultdict(list)

    # --- finding and wrapping ------------------------------------------------------------
    def instrument(self, *roots: object, max_depth: int = 4) -> None:
        seen: set[int] = set()
        frontier = [r for r in roots if r is not None]
        for _ in range(max_depth):
            nxt = []
            for obj in frontier:
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                component = COMPONENTS.get(type(obj).__name__)
                if component:
                    self._wrap(obj, component)
                nxt.extend(_children(obj))
            frontier = nxt

    def _wrap(self, obj: object, component: str) -> None:
        for name in dir(type(obj)):
            if name.startswith("_") or isinstance(getattr(type(obj), name, None), property):
                continue
            method = getattr(obj, name, None)
            if not callable(method) or isinstance(method, type):
                continue
            try:
                object.__setattr__(obj, name, self._timed(method, component))
            except (AttributeError, TypeError):
                continue
            self.wrapped[component].append(f"{type(obj).__name__}.{name}")

    def _timed(self, method, component: str):
        local = self._local

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any):
            stack = getattr(local, "stack", None)
            if stack is None or component in (frame[0] for frame in stack):
                return method(*args, **kwargs)  # outside a request, or re-entrant: the outer call counts
            frame = [component, 0.0]  # component, time of wrapped calls inside
            stack.append(frame)
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                stack.pop()
                local.times[component] += elapsed - frame[1]
                local.calls[component] += 1
                if stack:
                    stack[-1][1] += elapsed
        return timed

    # --- per request ---------------------------------------------------------------------------
    def start(self) -> None:
        if request.path != "/v1/chat":
            return
        self._local.stack = []
        self._local.times = defaultdict(float)
        self._local.calls = defaultdict(int)
        self._local.started = time.perf_counter()

    def finish(self, response):
        if getattr(self._local, "stack", None) is None:
            return response
        total = time.perf_counter() - self._local.started
        row = {f"{k}_ms": v * 1000 for k, v in self._local.times.items()}
        row.update({f"{k}_calls": float(v) for k, v in self._local.calls.items()})
        row["total_ms"] = total * 1000
        self._local.stack = None
        with self._lock:
            self.requests.append(row)
        return response

    def report(self):
        with self._lock:
            rows = list(self.requests)
        return jsonify({"pid": os.getpid(), "requests": rows, "wrapped": self.wrapped})

    def reset(self):
        with self._lock:
            self.requests.clear()
        return jsonify({"pid": os.getpid(), "reset": True})


def _children(obj: object) -> list[object]:
    try:
        values = list(vars(obj).values())
    except TypeError:
        values = [getattr(obj, s, None) for s in getattr(type(obj), "__slots__", ())]
    out = []
    for v in values:
        if isinstance(v, list | tuple):
            out.extend(x for x in v if _ours(x))
        elif _ours(v):
            out.append(v)
    return out


def _ours(value: object) -> bool:
    return type(value).__module__.split(".")[0] in OUR_PACKAGES


def create_app(**config_overrides: object) -> Flask:
    """``qa_api.wsgi.create_wsgi_app`` plus the timing proxies and the two bench routes."""
    from qa_api.app import EXTENSION
    from qa_api.wsgi import create_wsgi_app

    app = create_wsgi_app(**config_overrides)
    services = app.extensions[EXTENSION]
    probe = TimingProbe()
    probe.instrument(services.engine, services)
    app.before_request(probe.start)
    app.after_request(probe.finish)
    app.add_url_rule("/bench/timings", "bench_timings", probe.report, methods=["GET"])
    app.add_url_rule("/bench/timings/reset", "bench_timings_reset", probe.reset, methods=["POST"])
    return app
