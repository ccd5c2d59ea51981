"""Soak benchmark: the API at 80 % of its measured capacity for 10 minutes.

Owns: the long version of ``tests/load``'s soak (3 minutes there). Starts
gunicorn through ``ops.api`` (2 workers, loopback, its own ``var/bench-soak/``
for the pid file, ``api.log`` and event log) against the loaded demo graph and
the local Redis (started if needed), measures closed-loop capacity with 8
clients for 15 s, then sends 80 % of it open-loop for ``--seconds`` and prints
one JSON document: capacity, status counts, latency percentiles and the
workers' resident memory before and after.

Run from the repository root after ``make demo``::

    python -m bench.bench_soak [--seconds 600] [--port 8010]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (make bench): make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from ops.api import ApiServer
from ops.errors import LaunchError
from ops.loadgen import measure_capacity, run_open_loop, store_messages, summary
from ops.redis import LocalRedis, RedisServerConfig
from schema.settings import PROJECT_ROOT, load_settings


def _rss_mb(server: ApiServer) -> float:
    return sum(p.memory_info().rss for p in psutil.Process(server.status().pid).children()) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_soak", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--port", type=int, default=0, help="default: the API port + 10")
    args = parser.parse_args(argv)
    settings = load_settings()
    redis_server = LocalRedis(RedisServerConfig.from_settings(settings))
    var_dir = settings.var_dir / "bench-soak"
    var_dir.mkdir(parents=True, exist_ok=True)
    for name, target in (("models", settings.models_dir), ("index", settings.index_dir)):
        if not (var_dir / name).exists():
            os.symlink(target.resolve(), var_dir / name)
    lifted = {"YEBAN_API_RATE_CLIENT_BURST": "1000000", "YEBAN_API_RATE_CLIENT_PER_S": "1000000",
              "YEBAN_API_RATE_SESSION_BURST": "1000000", "YEBAN_API_RATE_SESSION_PER_S": "1000000",
              "YEBAN_ENCODER_MODEL": str(settings.encoder_name_or_path)}
    os.environ.update(lifted)
    server = ApiServer(load_settings(var_dir=var_dir, api_port=args.port or settings.api_port + 10))
    started_redis = False
    try:
        if not redis_server.status().running:
            redis_server.start()
            started_redis = True
        os.environ["YEBAN_REDIS_URL"] = redis_server.status().url
        server.start(timeout_s=900)
        port = server.settings.api_port
        dialogues = store_messages(PROJECT_ROOT / "data" / "demo")
        rps, _ = measure_capacity("127.0.0.1", port, dialogues, clients=8, duration_s=15)
        before = _rss_mb(server)
        outcomes = run_open_loop("127.0.0.1", port, dialogues, rate=0.8 * rps, duration_s=args.seconds)
        after = _rss_mb(server)
    except LaunchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        if started_redis:
            redis_server.stop()
    errors = sum(1 for o in outcomes if o.status is None or o.status >= 500)
    print(json.dumps({"capacity_rps": round(rps, 1), "rate": round(0.8 * rps, 1), "seconds": args.seconds,
                      **summary(outcomes), "server_errors": errors, "rss_mb_before": round(before),
                      "rss_mb_after": round(after), "rss_growth": round(after / before - 1, 4)}, indent=2))
    return 0 if errors == 0 and after < before * 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())
