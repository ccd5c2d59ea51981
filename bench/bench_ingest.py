"""Ingest benchmark: bulk-load throughput, no-op reload time and store size.

Owns: measuring ``ingest.loader.Loader`` on this machine. Generates a
synthetic catalogue (default 100,000 products x 10 variants = 1,000,000
variants) in a temporary folder, loads it into a scratch Neo4j (port 7693,
store under a temporary folder, removed afterwards) and prints one JSON
document. With ``--yes-wipe`` it uses the configured Neo4j instead and WIPES it.

First it tries the whole catalogue as ONE transaction (``"atomic": true``). If
Neo4j runs out of transaction memory it says so (``atomic_error``; the
transaction rolled back, nothing was written) and loads again with one
transaction per batch (``"atomic": false``).

    python bench/bench_ingest.py [--products 100000] [--variants 10] [--batch-size 5000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_VARIANTS_PER_S = 20_000
COLORS = ["黑色", "白色", "红色", "蓝色", "灰色", "绿色", "粉色", "紫色", "黄色", "棕色"]
SIZES = ["S", "M", "L", "XL", "XXL"]
CATEGORIES = ["服装/女装/连衣裙", "服装/男装/T恤", "鞋靴/运动鞋", "手机数码/手机", "家用电器/厨房电器",
              "美妆个护/护肤", "食品生鲜/水果"]


def generate(path: Path, products: int, variants: int) -> None:
    """A products.jsonl with ``products`` products of ``variants`` variants each."""
    with path.open("w", encoding="utf-8") as fh:
        for n in range(products):
            pid = f"S{n:07d}"
            price = float(19 + (n * 37) % 2000)
            fh.write(json.dumps({
                "product_id": pid,
                "name": f"合成商品 {n}",
                "brand": f"品牌{n % 50}",
                "category": CATEGORIES[n % len(CATEGORIES)],
                "price": price,
                "description": "基准测试用的合成商品，面料舒适，做工精细。",
                "aliases": [f"合成{n}"],
                "variants": [{
                    "sku": f"{pid}-{v:02d}",
                    "attributes": {"color": COLORS[v % len(COLORS)], "size": SIZES[v % len(SIZES)]},
                    "stock": (n + v) % 200,
                    "price": price + v,
                } for v in range(variants)],
            }, ensure_ascii=False) + "\n")


def _rust_ext() -> bool:
    try:
        import neo4j._rust  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def _noop_cli_seconds(env: dict[str, str], path: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ingest", "load", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"reload of {path} failed: {proc.stderr[-2000:]}")
    return elapsed


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from graph.driver import connect
    from graph.migrate import apply_migrations
    from graph.testing import reset_database
    from ingest.errors import TransactionTooLarge
    from ingest.loader import Loader
    from ops.neo4j import LocalNeo4j
    from schema.settings import load_settings

    if args.yes_wipe:
        settings = load_settings()
        print(f"WARNING: wiping the configured database at {settings.bolt_uri}", file=sys.stderr)
        server = None
    else:
        settings = load_settings(var_dir=work / "var", neo4j_uri=None, neo4j_port=args.port,
                                 neo4j_heap=args.heap, neo4j_pagecache=args.pagecache,
                                 neo4j_tx_memory=args.tx_memory, neo4j_start_timeout_s=300)
        server = LocalNeo4j(settings)
        server.start()
    db = settings.neo4j_database
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "YEBAN_"))}
    env.update({"NEO4J_URI": settings.bolt_uri, "NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
                "NEO4J_DATABASE": db, "PYTHONPATH": str(ROOT), "YEBAN_VAR_DIR": str(work / "cli-var"),
                "YEBAN_PHONE_HASH_SALT": settings.phone_hash_salt.get_secret_value()})
    driver = connect(settings)
    try:
        reset_database(driver, db)
        apply_migrations(driver, db)
        data = work / "products_bench.jsonl"
        started = time.perf_counter()
        generate(data, args.products, args.variants)
        report: dict[str, Any] = {
            "products": args.products, "variants": args.products * args.variants,
            "batch_size": args.batch_size, "generate_s": round(time.perf_counter() - started, 2),
            "data_mib": round(data.stat().st_size / 2**20, 1),
            "server": {"scratch": server is not None, "heap": settings.neo4j_heap,
                       "pagecache": settings.neo4j_pagecache, "tx_memory": settings.neo4j_tx_memory},
            "neo4j_rust_ext": _rust_ext(), "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        }
        loader = Loader(driver, db, phone_salt=settings.phone_hash_salt.get_secret_value(), batch_size=args.batch_size, show_progress=False)
        started = time.perf_counter()
        dry = loader.load([data], dry_run=True)
        report["validate_and_plan_s"] = round(time.perf_counter() - started, 2)
        assert dry.counts["variant"].created == args.products * args.variants
        started = time.perf_counter()
        try:
            summary = loader.load([data], atomic=True)
            report.update(atomic=True, atomic_error=None)
        except TransactionTooLarge as e:
            report.update(atomic=False, atomic_error=" ".join(str(e).split())[:500],
                          atomic_failed_after_s=round(time.perf_counter() - started, 2))
            reset_database(driver, db)
            started = time.perf_counter()
            summary = loader.load([data], atomic=False)
        load_s = time.perf_counter() - started
        assert summary.counts["variant"].created == args.products * args.variants
        report.update({
            "load_s": round(load_s, 2),
            "write_s_estimate": round(load_s - report["validate_and_plan_s"], 2),
            "products_per_s": round(args.products / load_s),
            "variants_per_s": round(args.products * args.variants / load_s),
            "rows_per_s": round(args.products * (args.variants + 1) / load_s),
        })
        report["target_variants_per_s"] = TARGET_VARIANTS_PER_S
        report["meets_target"] = report["variants_per_s"] >= TARGET_VARIANTS_PER_S
        started = time.perf_counter()
        again = loader.load([data])
        report["bench_noop_reload_s"] = round(time.perf_counter() - started, 2)
        assert not again.changed
        demo = ROOT / "data" / "demo"
        if demo.is_dir():
            started = time.perf_counter()
            loader.load([demo])
            report["demo_first_load_s"] = round(time.perf_counter() - started, 2)
            report["demo_noop_reload_s"] = round(_noop_cli_seconds(env, demo), 2)
        report["store_bytes"] = server.status().store_bytes if server else None
        report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        return report
    finally:
        driver.close()
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=10, help="variants per product")
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--port", type=int, default=7693, help="scratch server port")
    parser.add_argument("--heap", default="4g", help="scratch server heap")
    parser.add_argument("--pagecache", default="1g", help="scratch server page cache")
    parser.add_argument("--tx-memory", default="3g", help="scratch server transaction memory limit")
    parser.add_argument("--yes-wipe", action="store_true",
                        help="use the configured Neo4j instead of a scratch server and WIPE it")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    work = Path(tempfile.mkdtemp(prefix="yeban-bench-ingest-"))
    try:
        report = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
