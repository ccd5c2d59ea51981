"""Store benchmark: a store's own conversation tests, measured in-process, next to the demo store's.

    python -m bench.bench_store [--store DIR] [--now ISO] [--demo-now ISO] [--port N] [--skip-demo] [--report DIR]

Loads each store into a scratch Neo4j on its own port (data under
``var/bench_store/<name>/``), with the store's ``status_map.json`` and
``columns_map.json`` when present, builds its FAQ index, then runs its
``cases.jsonl``, ``dialogs.jsonl`` and ``shopper_messages.tsv`` through
``dialog.store_test`` with the bot's clock at ``--now`` (the store's documented
"now"; the partner store's is 2026-12-01..2027-02-28, default 2026-12-15 20:00
China time). The demo store runs ``data/demo/store_cases.jsonl`` and
``store_dialogs.jsonl`` (``data/generate_store_cases.py``). Prints JSON: per store
the load counts and the figures (facts, intent, both, dialogues, message intent,
p50 latency), and ``training_overlap``: how many of the store's messages and cases
the intent model was trained on verbatim (after NFKC, lower case, no spaces or
punctuation) and the intent figure on the others, the one to quote. A benchmark,
not a test: no thresholds.

The store folder defaults to ``$YEBAN_BENCH_STORE`` or ``../shared/stores/partner``
beside the checkout; a missing folder is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from schema.settings import PROJECT_ROOT, Settings, load_settings

logger = logging.getLogger("bench.bench_store")
DEFAULT_NOW = "2026-12-15T20:00:00+08:00"


def default_store() -> Path:
    env = os.environ.get("YEBAN_BENCH_STORE")
    if env:
        return Path(env)
    for base in (PROJECT_ROOT.parent, PROJECT_ROOT.parent.parent):
        if (base / "shared" / "stores" / "partner").is_dir():
            return base / "shared" / "stores" / "partner"
    return PROJECT_ROOT.parent / "shared" / "stores" / "partner"


def scratch_settings(name: str, port: int) -> Settings:
    base = load_settings()
    var = base.var_dir / "bench_store" / name
    var.mkdir(parents=True, exist_ok=True)
    models = var / "models"
    if not models.exists():
        models.symlink_to(base.models_dir.resolve(), target_is_directory=True)
    return load_settings(var_dir=var, neo4j_port=port, neo4j_uri="", neo4j_heap="1g", neo4j_pagecache="256m")


def load_store(settings: Settings, files: list[Path], encoder, status_map: Path | None,
               columns: Path | None) -> dict[str, Any]:
    from graph.driver import connect
    from graph.testing import reset_database
    from ingest.loader import Loader
    from ingest.pipeline import IndexFollower
    from ingest.vocab import StoreVocabulary

    driver = connect(settings)
    try:
        reset_database(driver, settings.neo4j_database)  # empty, every migration applied
        shutil.rmtree(settings.index_dir, ignore_errors=True)
        loader = Loader(driver, settings.neo4j_database, phone_salt=settings.phone_hash_salt.get_secret_value(),
                        show_progress=False, vocab=StoreVocabulary.from_files(status_map, columns))
        started = time.perf_counter()
        summary = loader.load(files)
        load_s = time.perf_counter() - started
        again = loader.load(files)
        index = IndexFollower(driver, settings, encoder).rebuild()
    finally:
        driver.close()
    return {"load_s": round(load_s, 2),
            "counts": {k: v.model_dump() for k, v in summary.counts.items()},
            "reload_unchanged": all(c.created == c.updated == 0 for c in again.counts.values()),
            "index_texts": index["total"]}


def measure(name: str, data_files: list[Path], cases: Path | None, dialogs: Path | None, messages: Path | None,
            now: str | None, port: int, encoder, classifier, status_map=None, columns=None,
            report_dir: Path | None = None) -> dict[str, Any]:
    from dialog.store_test import engine_asker, parse_now, run_all, write_report
    from ops.neo4j import LocalNeo4j

    settings = scratch_settings(name, port)
    server = LocalNeo4j(settings)
    server.start()
    try:
        loaded = load_store(settings, data_files, encoder, status_map, columns)
        engine, close = _engine(settings, parse_now(now) if now else None, encoder, classifier)
        try:
            report = run_all(engine_asker(engine), cases, dialogs, messages)
        finally:
            close()
    finally:
        server.stop()
    result = {"store": name, "clock": now or "system clock", **loaded, "figures": report["summary"],
              "training_overlap": training_overlap(report, settings.data_dir / "nlu" / "intents_train.jsonl")}
    if report_dir is not None:
        meta = {"target": f"in-process engine, store {name}", "clock": result["clock"],
                "files": [str(p) for p in (cases, dialogs, messages) if p is not None]}
        json_path, md_path = write_report(report, meta, report_dir / name)
        result["report"] = {"json": str(json_path), "markdown": str(md_path)}
    return result


_PUNCT = re.compile(r"[\s\W_]+")


def _key(text: str) -> str:
    """A message as the overlap check compares it: NFKC, lower case, no spaces or punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).lower())


def training_overlap(report: dict[str, Any], train_file: Path) -> dict[str, Any]:
    """How many measured messages and cases the intent model was trained on verbatim, and the
    intent figure on the rest: a store's figure counts only what the model has not seen."""
    train = {_key(json.loads(line)["text"]) for line in train_file.read_text(encoding="utf-8").splitlines()
             if line.strip()}
    out: dict[str, Any] = {}
    for kind in ("messages", "cases"):
        rows = [r for r in report.get(kind) or [] if r.get("intent_ok") is not None]  # those with an expected intent
        seen = [r for r in rows if _key(str(r.get("message") or "")) in train]
        unseen = [r for r in rows if r not in seen]
        ok = sum(bool(r.get("intent_ok")) for r in unseen)
        out[kind] = {"seen_in_training": len(seen), "unseen": len(unseen), "unseen_intent_passed": ok,
                     "unseen_intent_rate": round(ok / len(unseen), 4) if unseen else None}
    return out


def _engine(settings: Settings, now, encoder, classifier):
    from dialog.store_test import build_local_engine

    return build_local_engine(now, settings, encoder=encoder, classifier=classifier)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_store", description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=default_store())
    parser.add_argument("--now", default=DEFAULT_NOW, help="the bot's clock for the store (ISO 8601)")
    parser.add_argument("--demo-now", default=None, help="the bot's clock for the demo store (default: now)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("YEBAN_BENCH_NEO4J_PORT", "7697")))
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--report", type=Path, default=None,
                        help="also write each store's report.json and report.md (every failure with its reply) "
                             "under DIR/<store>/")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from retrieval.encoder import E5Encoder
    from retrieval.intent import load_or_train
    from retrieval.models import ensure_offline_env

    base = load_settings()
    ensure_offline_env(base)
    encoder = E5Encoder.from_settings(base)
    encoder.warm_up()
    classifier = load_or_train(base, encoder)
    out: dict[str, Any] = {}
    store = args.store
    if (store / "products.jsonl").is_file():
        files = [p for p in (store / n for n in ("policies.jsonl", "products.jsonl", "faq.jsonl", "orders.jsonl"))
                 if p.is_file()] + sorted(store.glob("stock*.csv"))

        def opt(name: str) -> Path | None:
            return store / name if (store / name).is_file() else None

        out["store"] = measure(store.name, files, opt("cases.jsonl"), opt("dialogs.jsonl"),
                               opt("shopper_messages.tsv"), args.now, args.port, encoder, classifier,
                               opt("status_map.json"), opt("columns_map.json"), args.report)
    else:
        out["store"] = {"skipped": f"no store at {store} (set --store or YEBAN_BENCH_STORE)"}
    if not args.skip_demo:
        demo = PROJECT_ROOT / "data" / "demo"
        out["demo"] = measure("demo", [demo], demo / "store_cases.jsonl", demo / "store_dialogs.jsonl", None,
                              args.demo_now, args.port, encoder, classifier, report_dir=args.report)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
