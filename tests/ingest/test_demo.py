"""The demo store in data/demo/ loads completely, and reloading it is a quick no-op."""

from __future__ import annotations

import time

from graph.knowledge import GraphKnowledge
from schema.settings import PROJECT_ROOT
from tests.ingest.store import counts, run_cli

DEMO = PROJECT_ROOT / "data" / "demo"


def _lines(name: str) -> int:
    return sum(1 for line in (DEMO / name).read_text(encoding="utf-8").splitlines() if line.strip())


def test_demo_store_loads_fully_and_reloads_fast(loader, graph_db, db, settings):
    # Fails (does not skip) when the demo data is missing: it is part of the project.
    assert (DEMO / "products.jsonl").exists(), "data/demo/products.jsonl is missing"
    summary = loader.load([DEMO])
    assert all(c.rejected == 0 for c in summary.counts.values())
    c = counts(graph_db, db)
    assert c["Product"] == _lines("products.jsonl")
    assert c["Policy"] == _lines("policies.jsonl")
    assert c["Order"] == _lines("orders.jsonl")
    assert c["FAQ"] >= _lines("faq.jsonl")
    assert summary.counts["variant"].created == c["Variant"] > 1000
    seed = GraphKnowledge(graph_db, db).product("P1001")
    assert seed.options == {"size": ("S", "M", "L"), "color": ("红", "蓝")} and seed.total_stock == 150
    # The CLI reload, process start-up included, is a no-op well under 5 s.
    started = time.perf_counter()
    proc = run_cli(settings, "load", str(DEMO))
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    assert '"created":0,"updated":0' in proc.stdout.replace(" ", "")
    assert "nothing changed" in proc.stderr
    assert elapsed < 5.0, f"no-op reload took {elapsed:.2f}s"
