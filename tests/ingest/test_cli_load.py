"""``python -m ingest load``: the summary table and JSON, dry runs, prune, chunked mode, errors."""

from __future__ import annotations

import json

from graph.testing import reset_database
from ingest.loader import Loader
from tests.ingest.store import PRODUCTS, run_cli, snapshot, write_store


def test_cli_load_prints_table_and_json(graph_db, db, settings, store):
    proc = run_cli(settings, "load", str(store), "--author", "ops-wang")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["counts"]["variant"]["created"] == 6 and summary["knowledge_version"] == 1
    table = [line.split() for line in proc.stderr.splitlines() if line.startswith(("entity", "product "))]
    assert table == [["entity", "created", "updated", "unchanged", "rejected"], ["product", "4", "0", "0", "0"]]
    records, _, _ = graph_db.execute_query(
        "MATCH (k:KnowledgeVersion) RETURN k.updated_by AS by, k.source AS source", database_=db)
    assert (records[0]["by"], records[0]["source"]) == ("ops-wang", "load")

    dry = run_cli(settings, "load", str(store / "products.jsonl"), "--dry-run")
    assert dry.returncode == 0 and "dry run: nothing written" in dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True

    smaller = write_store(store.parent / "smaller", products=PRODUCTS[:2])
    pruned = run_cli(settings, "load", str(smaller / "products.jsonl"), "--prune")
    assert pruned.returncode == 0, pruned.stderr
    header = next(line.split() for line in pruned.stderr.splitlines() if line.startswith("entity"))
    assert header[-1] == "deleted"
    assert json.loads(pruned.stdout)["counts"]["product"]["deleted"] == 2


def test_cli_errors_are_one_clear_line(settings, tmp_path):
    unknown = tmp_path / "notes.jsonl"
    unknown.write_text("{}\n", encoding="utf-8")
    proc = run_cli(settings, "load", str(unknown))
    assert proc.returncode == 1 and proc.stderr.strip().endswith("or pass --kind")
    missing = run_cli(settings, "load", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr
    usage = run_cli(settings, "load")
    assert usage.returncode == 2


def test_chunked_mode_writes_the_same_graph(graph_db, db, salt, store):
    atomic = Loader(graph_db, db, phone_salt=salt, batch_size=3, show_progress=False)
    atomic.load([store])
    expected = snapshot(graph_db, db, skip=("Migration", "KnowledgeVersion"))
    reset_database(graph_db, db)
    summary = atomic.load([store], atomic=False)
    assert summary.atomic is False and summary.counts["order"].created == 2
    assert snapshot(graph_db, db, skip=("Migration", "KnowledgeVersion")) == expected
    assert atomic.load([store]).changed is False
