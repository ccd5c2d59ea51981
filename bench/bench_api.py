"""API benchmark: the real serving stack, torch and ONNX encoders side by side, in one run.

Owns: measuring ``POST /v1/chat`` end to end on this machine. For each
encoder backend (``--backends``, default ``torch onnx onnx-int8``; ``onnx`` is
the configured precision, fp32 by default) it starts gunicorn
(``--workers`` workers, loopback, a free port) with that backend, waits for
``/readyz``, then sends messages at each concurrency level (``--concurrency``,
default 1 and 8; threads, one keep-alive ``http.client`` connection each).
Every message of the run is distinct (``bench.chat_messages``: templates x the
demo catalogue, plus the questions of ``chat_mix.txt`` reworded), so the
encoder's query cache never answers for the model; both backends get the
same messages in the same order.

It prints one JSON document: per backend and level p50/p95/p99 latency,
requests/s, statuses, resident memory of each worker and whether a worker
mapped any torch library; where the time goes inside the workers (self time
per request of the encoder, Neo4j, linking, retrieval, the intent and emotion
heads, the session store, the hand-off queue and the event log, measured by
``bench.instrumented_app``'s timing proxies); and the torch/ONNX ratios.

The stack (``bench.stack``): after ``make demo`` it uses the demo Neo4j and
the local Redis; otherwise it starts a scratch Neo4j and Redis on free ports
and loads ``data/demo``. Chat rate limits are lifted for the run (the limiter
still runs on every request). Run from the repository root::

    python -m bench.bench_api [--backends torch onnx onnx-int8] [--concurrency 1 8] [--requests 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import signal
import statistics
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

from bench.chat_messages import messages
from bench.stack import Stack, StackError, free_port, open_stack
from schema.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)
GUNICORN = Path(sys.executable).with_name("gunicorn")
# The app under test: the normal app plus timing proxies, without throttling of our own load.
APP_CALL = ("bench.instrumented_app:create_app(rate_client_burst=10000000, rate_client_per_s=1000000.0, "
            "rate_session_burst=10000000, rate_session_per_s=1000000.0)")
HEAVY_LIBRARIES = ("libtorch", "torch/lib", "libc10")
# What each measured backend sets in the server's environment ("onnx" is the configured precision).
BACKEND_ENV = {"torch": {"YEBAN_ENCODER_BACKEND": "torch"}, "onnx": {"YEBAN_ENCODER_BACKEND": "onnx"},
               "onnx-int8": {"YEBAN_ENCODER_BACKEND": "onnx", "YEBAN_ENCODER_ONNX_PRECISION": "int8"}}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return round(ordered[int(min(rank, len(ordered))) - 1], 2)


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

    def torch_mapped(self) -> list[bool]:
        """Per worker: does its address space map a torch library (a full module-list check)?"""
        out = []
        for worker in self.workers():
            try:
                maps = Path(f"/proc/{worker.pid}/maps").read_text()
            except OSError:
                continue
            out.append(any(lib in maps for lib in HEAVY_LIBRARIES))
        return out

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


def start_server(stack: Stack, backend: str, workers: int, log_dir: Path, ready_timeout_s: float,
                 app_call: str = APP_CALL) -> Server:
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **stack.env, "YEBAN_API_HOST": "127.0.0.1", "YEBAN_API_PORT": str(port),
           "YEBAN_API_WORKERS": str(workers), **BACKEND_ENV[backend]}
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


def worker_timings(server: Server, workers: int, reset: bool = False) -> list[dict]:
    """Each worker's timing rows (new connections until every worker answered once)."""
    by_pid: dict[int, dict] = {}
    for _ in range(40 * workers):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            status, raw = request(conn, "POST" if reset else "GET", "/bench/timings/reset" if reset
                                  else "/bench/timings", {} if reset else None)
        except (OSError, http.client.HTTPException):
            continue
        finally:
            conn.close()
        if status == 200:
            body = json.loads(raw)
            by_pid.setdefault(body["pid"], body)
        if len(by_pid) >= workers:
            break
    return list(by_pid.values())


def breakdown(rows: list[dict]) -> dict:
    """Mean self time per request by component, the in-worker total, and what no proxy covered."""
    if not rows:
        return {}
    components = sorted({k[:-3] for r in rows for k in r if k.endswith("_ms") and k != "total_ms"})
    n = len(rows)
    mean = {c: round(sum(r.get(f"{c}_ms", 0.0) for r in rows) / n, 3) for c in components}
    total = statistics.fmean(r["total_ms"] for r in rows)
    return {"requests": n, "in_worker_total_ms_mean": round(total, 3),
            "in_worker_total_ms_p50": percentile([r["total_ms"] for r in rows], 50),
            "self_ms_mean": dict(sorted(mean.items(), key=lambda kv: -kv[1])),
            "calls_per_request": {c: round(sum(r.get(f"{c}_calls", 0.0) for r in rows) / n, 2)
                                  for c in components},
            "unaccounted_ms_mean": round(total - sum(mean.values()), 3)}


# --- the load -------------------------------------------------------------------------------
@dataclass
class LevelResult:
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
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
        }


def run_level(port: int, batch: list[tuple[str, str]], concurrency: int, max_seconds: float, tag: str,
              turns_per_session: int = 3) -> LevelResult:
    """Send every message of ``batch`` once, from ``concurrency`` threads, within ``max_seconds``."""
    result = LevelResult(concurrency)
    lock = threading.Lock()
    next_index = iter(range(len(batch)))
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while time.monotonic() < deadline:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                body = {"session_id": f"bench-{tag}-c{concurrency}-{i // turns_per_session}",
                        "message": batch[i][1], "channel": "bench"}
                started = time.perf_counter()
                try:
                    status, _ = request(conn, "POST", "/v1/chat", body)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    with lock:
                        result.transport_errors += 1
                    continue
                elapsed_ms = (time.perf_counter() - started) * 1000
                with lock:
                    result.statuses[status] += 1
                    if status == 200:
                        result.latencies_ms.append(elapsed_ms)
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
def run_backend(stack: Stack, backend: str, args, batches: list[list[tuple[str, str]]],
                warmup: list[tuple[str, str]]) -> dict:
    log_dir = stack.settings.var_dir / "bench" / f"api-{backend}"
    started = time.perf_counter()
    server = start_server(stack, backend, args.workers, log_dir, args.ready_timeout)
    try:
        out: dict = {"ready_s": round(time.perf_counter() - started, 1), "rss_mib_per_worker_ready": server.rss_mib()}
        run_level(server.port, warmup, min(4, max(args.concurrency)), 120, f"{backend}-warm")
        out["levels"] = []
        for concurrency, batch in zip(args.concurrency, batches, strict=True):
            worker_timings(server, args.workers, reset=True)
            level = run_level(server.port, batch, concurrency, args.max_seconds, backend)
            rows = [r for w in worker_timings(server, args.workers) for r in w["requests"]]
            out["levels"].append({**level.summary(), "rss_mib_per_worker": server.rss_mib(),
                                  "where_the_time_goes": breakdown(rows)})
            logger.info("%s concurrency %d: %s", backend, concurrency,
                        json.dumps({k: v for k, v in out["levels"][-1].items() if k != "where_the_time_goes"}))
        out["torch_mapped_per_worker"] = server.torch_mapped()
        return out
    finally:
        server.stop()


def ratios(results: dict, a: str = "torch", b: str = "onnx") -> list[dict]:
    """``a``/``b`` per level: latency ratios > 1 and a throughput ratio < 1 mean ``b`` is faster."""
    if a not in results or b not in results:
        return []
    out = []
    for la, lb in zip(results[a]["levels"], results[b]["levels"], strict=True):
        row: dict = {"concurrency": la["concurrency"]}
        for key in ("p50_ms", "p95_ms", "requests_per_s"):
            if la[key] and lb[key]:
                row[f"{key}_{a}_over_{b}"] = round(la[key] / lb[key], 2)
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", choices=tuple(BACKEND_ENV), default=list(BACKEND_ENV))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--requests", type=int, default=300, help="distinct messages per level")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="time cap per level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--stack", choices=("auto", "existing", "scratch"), default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)

    pool = messages(args.warmup + args.requests * len(args.concurrency))
    warmup = pool[:args.warmup]
    batches = [pool[args.warmup + i * args.requests: args.warmup + (i + 1) * args.requests]
               for i in range(len(args.concurrency))]
    try:
        stack = open_stack(args.stack)
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    results: dict = {}
    try:
        for backend in args.backends:
            results[backend] = run_backend(stack, backend, args, batches, warmup)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        stack.close()
    report = {
        "benchmark": "api_chat",
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "stack": stack.kind,
        "graph_products": stack.products,
        "messages": {"distinct": len({m for _, m in pool}), "sent_per_backend": len(pool),
                     "per_level": args.requests, "by_category": dict(Counter(c for c, _ in pool).most_common())},
        "backends": results,
        "torch_over_onnx": ratios(results),
        "torch_over_onnx_int8": ratios(results, b="onnx-int8"),
    }
    stack.settings.reports_dir.mkdir(parents=True, exist_ok=True)
    (stack.settings.reports_dir / "bench_api.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    failed = any(level["ok"] < level["requests"] for r in results.values() for level in r["levels"])
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
