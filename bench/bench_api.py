"""API benchmark: the real serving stack under a realistic question mix.

Owns: measuring ``POST /v1/chat`` end to end on this machine. It starts
gunicorn (2 workers, loopback only, a free port) against the loaded demo
graph, waits for ``/readyz``, then sends the questions of ``bench/chat_mix.txt``
at concurrency 1, 4 and 16 (threads, one keep-alive ``http.client`` connection
each, bounded by request count and time) and prints one JSON document:
p50/p95/p99 latency, requests/s, status counts and the RSS of each worker.
Chat rate limits are lifted for the run (the limiter still runs on every request).

Run from the repository root after ``make demo`` (Neo4j up, data/demo loaded)::

    python -m bench.bench_api [--concurrency 1 4 16] [--requests 226] [--max-seconds 120]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script (make bench): make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from graph.driver import connect
from graph.errors import GraphError
from graph.introspect import describe_schema
from ops.redis import LocalRedis, RedisLaunchError
from qa_api.config import api_config
from schema.settings import PROJECT_ROOT, load_settings

logger = logging.getLogger(__name__)
MIX_FILE = Path(__file__).resolve().parent / "chat_mix.txt"
GUNICORN = Path(sys.executable).with_name("gunicorn")
# Keyword arguments of qa_api.wsgi.create_wsgi_app for the run: no throttling of our own load.
APP_CALL = ("qa_api.wsgi:create_wsgi_app(rate_client_burst=10000000, rate_client_per_s=1000000.0, "
            "rate_session_burst=10000000, rate_session_per_s=1000000.0)")


def load_mix(path: Path = MIX_FILE) -> list[tuple[str, str]]:
    """(category, question) pairs in file order."""
    mix = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, _, question = line.partition("\t")
        mix.append((category.strip(), question.strip()))
    return mix


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return round(ordered[int(min(rank, len(ordered))) - 1], 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the server -------------------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log_dir: Path

    def workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []

    def rss_mib(self) -> list[float]:
        out = []
        for worker in self.workers():
            try:
                out.append(round(worker.memory_info().rss / 2**20, 1))
            except psutil.NoSuchProcess:
                continue
        return sorted(out)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None
            ) -> tuple[int, bytes]:
    payload = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def start_server(redis_url: str, workers: int, log_dir: Path, ready_timeout_s: float,
                 app_call: str = APP_CALL) -> Server:
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "YEBAN_API_HOST": "127.0.0.1", "YEBAN_API_PORT": str(port),
           "YEBAN_REDIS_URL": redis_url, "YEBAN_API_WORKERS": str(workers)}
    with open(log_dir / "gunicorn.out", "wb") as out, open(log_dir / "gunicorn.err", "wb") as err:
        proc = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             app_call],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(proc, port, log_dir)
    deadline = time.monotonic() + ready_timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_dir / 'gunicorn.err'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            status, body = request(conn, "GET", "/readyz")
            conn.close()
            if status == 200:
                return server
            last = body.decode(errors="replace")
            if '"engine_build"' in last:  # the engine failed to build: waiting will not help
                break
        except OSError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"the API was not ready within {ready_timeout_s:.0f}s: {last}")


# --- the load -------------------------------------------------------------------------------
@dataclass
class LevelResult:
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    intents: Counter = field(default_factory=Counter)
    transport_errors: int = 0
    elapsed_s: float = 0.0

    def summary(self) -> dict:
        ok = self.statuses.get(200, 0)
        return {
            "concurrency": self.concurrency,
            "requests": sum(self.statuses.values()) + self.transport_errors,
            "ok": ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "transport_errors": self.transport_errors,
            "p50_ms": percentile(self.latencies_ms, 50),
            "p95_ms": percentile(self.latencies_ms, 95),
            "p99_ms": percentile(self.latencies_ms, 99),
            "max_ms": round(max(self.latencies_ms), 2) if self.latencies_ms else None,
            "requests_per_s": round(ok / self.elapsed_s, 2) if self.elapsed_s else None,
            "elapsed_s": round(self.elapsed_s, 2),
            "top_intents": dict(self.intents.most_common(8)),
        }


def run_level(port: int, mix: list[tuple[str, str]], concurrency: int, n_requests: int, max_seconds: float,
              turns_per_session: int = 3) -> LevelResult:
    """Send ``n_requests`` questions (cycling through the mix) from ``concurrency`` threads."""
    result = LevelResult(concurrency)
    lock = threading.Lock()
    next_index = iter(range(n_requests))
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < deadline:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                _, question = mix[i % len(mix)]
                body = {"session_id": f"bench-c{concurrency}-{i // turns_per_session}", "message": question,
                        "channel": "bench"}
                started = time.perf_counter()
                try:
                    status, raw = request(conn, "POST", "/v1/chat", body)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    with lock:
                        result.transport_errors += 1
                    continue
                elapsed_ms = (time.perf_counter() - started) * 1000
                intent = json.loads(raw).get("intent") if status == 200 else None
                with lock:
                    result.statuses[status] += 1
                    if status == 200:
                        result.latencies_ms.append(elapsed_ms)
                        result.intents[intent] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, name=f"bench-{n}") for n in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed_s = time.perf_counter() - started
    return result


# --- the run ------------------------------------------------------------------------------------
def graph_products(settings) -> int:
    driver = connect(settings)
    try:
        return describe_schema(driver, settings.neo4j_database).labels.get("Product", 0)
    finally:
        driver.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=0, help="per level (default: the whole mix)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time cap per level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ready-timeout", type=float, default=300.0)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--app", default=APP_CALL, help="the gunicorn app (factory call) to measure")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)

    settings = load_settings()
    try:
        products = graph_products(settings)
    except GraphError as e:
        print(f"error: {e} (run `make demo` first)", file=sys.stderr)
        return 1
    if products == 0:
        print("error: the graph has no products; load the demo store first (`make demo`)", file=sys.stderr)
        return 1

    mix = load_mix()
    n_requests = args.requests or len(mix)
    config = api_config(settings)
    redis_server = LocalRedis(config.redis_server)
    started_redis = False
    try:
        if not redis_server.status().running:
            redis_server.start()
            started_redis = True
        redis_url = redis_server.status().url
    except RedisLaunchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    server = None
    try:
        server = start_server(redis_url, args.workers, settings.var_dir / "bench" / "api", args.ready_timeout,
                              args.app)
        rss_ready = server.rss_mib()
        run_level(server.port, mix[::-1], min(4, max(args.concurrency)), args.warmup, 60)  # warm caches
        levels = []
        for concurrency in args.concurrency:
            level = run_level(server.port, mix, concurrency, n_requests, args.max_seconds)
            levels.append({**level.summary(), "rss_mib_per_worker": server.rss_mib()})
            logger.info("concurrency %d: %s", concurrency, json.dumps(levels[-1], ensure_ascii=False))
        report = {
            "benchmark": "api_chat",
            "workers": args.workers,
            "cpus": os.cpu_count(),
            "graph_products": products,
            "mix": {"questions": len(mix), "by_category": dict(Counter(c for c, _ in mix).most_common())},
            "requests_per_level": n_requests,
            "rss_mib_per_worker_ready": rss_ready,
            "levels": levels,
        }
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        if started_redis:
            redis_server.stop()

    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    (settings.reports_dir / "bench_api.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                                          encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    failed = any(level["ok"] < level["requests"] for level in levels)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
