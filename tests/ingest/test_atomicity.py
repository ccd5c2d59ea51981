"""A load is one transaction: killing the loader or stopping Neo4j mid-load leaves
the graph exactly as it was."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from graph.driver import connect
from graph.testing import reset_database
from ingest.errors import TransactionTooLarge
from ingest.loader import Loader
from ops.neo4j import LocalNeo4j
from schema.settings import PROJECT_ROOT, Settings, load_settings
from tests import ports
from tests.ingest.store import cli_env, counts, snapshot, write_store

STARTED = "batch 3/"  # a DEBUG line the loader logs (-v) once its third write batch is sent


def write_big_catalogue(path: Path, products: int, variants: int) -> int:
    with path.open("w", encoding="utf-8") as fh:
        for n in range(products):
            pid = f"B{n:06d}"
            fh.write(json.dumps({
                "product_id": pid, "name": f"批量商品{n}", "brand": f"品牌{n % 7}",
                "category": f"批量/类目{n % 13}", "price": 10 + n % 90,
                "variants": [{"sku": f"{pid}-{v}", "attributes": {"color": f"色{v}", "size": "M"},
                              "stock": v} for v in range(variants)],
            }, ensure_ascii=False) + "\n")
    return products * (variants + 1)


class _Loading:
    """``python -m ingest -v load`` in the background, with its stderr lines in a queue."""

    def __init__(self, settings: Settings, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest", "-v", "load", *args], cwd=PROJECT_ROOT, env=cli_env(settings),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, fragment: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if fragment in line:
                return
        self.proc.kill()
        raise AssertionError(f"never saw {fragment!r}; stderr so far:\n{''.join(self.seen[-30:])}")

    def finish(self, timeout: float = 180) -> str:
        self.proc.wait(timeout=timeout)
        time.sleep(0.2)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


def test_killing_the_loader_mid_load_leaves_the_graph_unchanged(loader, graph_db, db, settings, tmp_path):
    loader.load([write_store(tmp_path / "store")])
    before = snapshot(graph_db, db)
    big = tmp_path / "products_big.jsonl"
    write_big_catalogue(big, products=3000, variants=4)
    loading = _Loading(settings, str(big), "--batch-size", "20")
    loading.wait_for(STARTED)
    os.kill(loading.proc.pid, signal.SIGKILL)
    loading.finish()
    assert loading.proc.returncode == -signal.SIGKILL
    assert any("writing" in line and "one transaction" in line for line in loading.seen)
    assert snapshot(graph_db, db) == before
    # The server let go of the dead client's transaction: the next load works.
    summary = Loader(graph_db, db, phone_salt="s", show_progress=False).load([big])
    assert summary.counts["product"].created == 3000 and counts(graph_db, db)["Variant"] == 6 + 12000


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A throwaway Neo4j on its own port that this module may stop and kill."""
    var = tmp_path_factory.mktemp("neo4j-ingest-scratch")
    server = LocalNeo4j(load_settings(var_dir=var, neo4j_uri=None, neo4j_port=ports.NEO4J_SCRATCH_ATOMICITY, neo4j_heap="512m",
                                      neo4j_pagecache="128m", neo4j_tx_memory="256m"))
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["stop", "crash"])
def test_neo4j_stopping_mid_load_leaves_nothing_half_written(scratch, tmp_path, how):
    settings = scratch.settings
    scratch.start()
    driver = connect(settings)
    try:
        reset_database(driver, settings.neo4j_database)
        Loader(driver, settings.neo4j_database, phone_salt="s", show_progress=False).load(
            [write_store(tmp_path / "store")])
        before = snapshot(driver, settings.neo4j_database)
    finally:
        driver.close()
    big = tmp_path / "products_big.jsonl"
    rows = write_big_catalogue(big, products=6000, variants=5)
    loading = _Loading(settings, str(big), "--batch-size", "10")
    loading.wait_for(STARTED)
    if how == "stop":
        scratch.stop()  # clean shutdown: SIGTERM, waits for the process to exit
    else:
        os.kill(scratch.status().pid, signal.SIGKILL)
        while scratch.status().running:
            time.sleep(0.1)
    log = loading.finish()
    scratch.start()  # a crashed store recovers from its transaction log here
    driver = connect(settings)
    try:
        after = snapshot(driver, settings.neo4j_database)
        products = counts(driver, settings.neo4j_database).get("Product", 0)
    finally:
        driver.close()
    assert loading.proc.returncode == 1, log[-2000:]
    assert "error: Neo4j failed, the transaction was rolled back and nothing was written" in log
    assert after == before, f"partial load: {products} products after a failed load of {rows} rows"


@pytest.mark.slow
def test_transaction_memory_exhaustion_is_reported_not_retried(scratch, tmp_path):
    """With a tiny transaction memory limit the load fails at once with a clear error."""
    scratch.stop()
    small = LocalNeo4j(scratch.settings.model_copy(update={"neo4j_tx_memory": "20m"}))
    small.start()
    try:
        driver = connect(small.settings)
        try:
            db = small.settings.neo4j_database
            reset_database(driver, db)
            big = tmp_path / "products_big.jsonl"
            write_big_catalogue(big, products=4000, variants=5)
            started = time.monotonic()
            with pytest.raises(TransactionTooLarge, match="ran out of transaction memory") as info:
                Loader(driver, db, phone_salt="s", show_progress=False).load([big])
            assert time.monotonic() - started < 120
            assert "YEBAN_NEO4J_TX_MEMORY" in str(info.value)
            assert counts(driver, db).get("Product", 0) == 0
        finally:
            driver.close()
    finally:
        small.stop()
