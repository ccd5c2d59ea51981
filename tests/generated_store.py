"""A store generated inside a test, loaded into the real Neo4j and served by the
real runtime: the shared wiring of the dialogue tests that must not depend on
the demo store's words.

    @pytest.fixture(scope="module")
    def runtime(driver, settings, encoder, intent_classifier, emotion_scorer, redis_server, tmp_path_factory):
        with generated_runtime(GeneratedStore(PRODUCTS, FAQ, POLICIES), tmp_path_factory.mktemp("s"),
                               driver=driver, settings=settings, encoder=encoder, classifier=intent_classifier,
                               emotion=emotion_scorer, redis_url=redis_server.url, prefix="t:s") as rt:
            yield rt
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis

from dialog.handoff_queue import RedisHandoffQueue
from dialog.runtime import Runtime, build_runtime
from dialog.session_store import RedisSessionStore
from graph.testing import reset_database

SH = ZoneInfo("Asia/Shanghai")


def variant(sku: str, stock: int, price: float, **attrs: str) -> dict[str, Any]:
    """One variant record in the loader's JSON form."""
    return {"sku": sku, "attributes": attrs, "stock": stock, "price": price}


class Clock:
    """The bot's clock, settable by the test (default: a Tuesday afternoon in China time)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 12, 1, 14, 0, tzinfo=SH)

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class GeneratedStore:
    products: list[dict[str, Any]]
    faq: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        """Write the store as the loader's JSON-lines files; returns the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in (("products", self.products), ("faq", self.faq), ("policies", self.policies),
                           ("orders", self.orders)):
            if not rows:
                continue
            (folder / f"{name}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return folder


@contextmanager
def generated_runtime(store: GeneratedStore, folder: Path, *, driver, settings, encoder, classifier, emotion,
                      redis_url: str, prefix: str, clock: Clock | None = None,
                      agent_hours=None) -> Iterator[Runtime]:
    """Load ``store`` into an emptied graph (and its FAQ index), yield a runtime over it, and empty the
    graph again afterwards so that the next module starts from its own data. ``agent_hours`` (a
    ``dialog.agent_hours.AgentHours``) replaces the configured ones."""
    from ingest.pipeline import load_and_index

    reset_database(driver, settings.neo4j_database)
    load_and_index(settings, driver, encoder, [store.write(folder)], author="tests", show_progress=False)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    rt = build_runtime(settings, driver=driver, sessions=RedisSessionStore(client, prefix=f"{prefix}:"),
                       handoffs=RedisHandoffQueue(client, prefix=f"{prefix}h:"), encoder=encoder,
                       classifier=classifier, emotion=emotion, clock=clock or Clock(), agent_hours=agent_hours)
    try:
        yield rt
    finally:
        rt.close()
        client.close()
        reset_database(driver, settings.neo4j_database)


class Chat:
    """One shopper's session on the runtime's engine: ``Chat(rt, "s-1")("多少钱")`` -> the reply."""

    def __init__(self, rt: Runtime, sid: str) -> None:
        self.rt, self.sid = rt, sid

    def __call__(self, message: str):
        return self.rt.engine.chat(self.sid, message)


def sources(reply, kind: str) -> set[str]:
    """The ids of the reply's sources of one kind (faq, clause, product, variant, policy)."""
    return {s["id"] for s in reply.sources if s["kind"] == kind}
