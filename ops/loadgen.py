"""A small loopback load generator for the API (used by ``tests/load`` and ``bench/bench_soak.py``).

``Shopper`` conversations of a few messages each (the first without a
``session_id``, then the issued one), built from a store's product names and
FAQ questions so that the encoder cache does not flatter the figures.
``measure_capacity`` runs closed-loop clients for a while and returns
requests/s; ``run_open_loop`` sends at a fixed rate for a fixed time (bounded
in both) and records every outcome. Each request uses its own connection, so
a killed worker fails only the requests it was serving.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Outcome:
    started: float       # time.monotonic() when sent
    latency_s: float
    status: int | None   # None: no HTTP response (connection refused or reset)
    body: dict = field(default_factory=dict)
    error: str | None = None


def post(host: str, port: int, path: str, body: dict, token: str | None = None, timeout: float = 30.0) -> Outcome:
    """One POST on a fresh connection; never raises."""
    started = time.monotonic()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body, ensure_ascii=False).encode(), headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {"raw": raw[:200].decode(errors="replace")}
        return Outcome(started, time.monotonic() - started, resp.status, data if isinstance(data, dict) else {})
    except (OSError, http.client.HTTPException) as e:
        return Outcome(started, time.monotonic() - started, None, error=f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def get(host: str, port: int, path: str, token: str | None = None, timeout: float = 30.0) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw or b"{}")
        except ValueError:
            return resp.status, {"raw": raw[:200].decode(errors="replace")}
    finally:
        conn.close()


def store_messages(data_dir: Path, seed: int = 7) -> list[list[str]]:
    """Short conversations (lists of messages) from a store's products and FAQ files."""
    rng = random.Random(seed)
    names: list[str] = []
    for line in (data_dir / "products.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else {}
        if record.get("name"):
            names.append("".join(str(record["name"]).split()[:2]))  # brand and product, without the season tag
    questions: list[str] = []
    faq = data_dir / "faq.jsonl"
    if faq.exists():
        for line in faq.read_text(encoding="utf-8").splitlines():
            record = json.loads(line) if line.strip() else {}
            questions.extend([record.get("question", ""), *record.get("paraphrases", [])])
    questions = [q for q in questions if q]
    sizes, asks = ["S", "M", "L", "XL"], ["有货吗", "还有几件", "是什么面料的", "多少钱", "有哪些颜色"]
    dialogues = []
    for name in names:
        for ask in asks:
            dialogues.append([f"{name}{ask}", f"{rng.choice(sizes)}码呢", rng.choice(questions) if questions else "几天发货"])
    rng.shuffle(dialogues)
    return dialogues


class Shopper:
    """Cycles through conversations; thread-safe ``next()`` gives (session_id or None, message)."""

    def __init__(self, dialogues: Iterable[list[str]]) -> None:
        self._dialogues = itertools.cycle(list(dialogues))
        self._lock = threading.Lock()
        self._current: list[str] = []
        self._sid: str | None = None
        self._serial = 0

    def next(self) -> tuple[str | None, str]:
        with self._lock:
            if not self._current:
                self._current = list(next(self._dialogues))
                self._sid = None
                self._serial += 1
            message = self._current.pop(0)
            # A suffix keeps messages distinct between rounds, so cached encodings do not flatter the figures.
            return self._sid, f"{message}{'' if self._serial < 2 else ' ' * (self._serial % 3)}"

    def remember(self, session_id: str | None) -> None:
        with self._lock:
            if session_id and self._current:
                self._sid = session_id


def _chat_once(host: str, port: int, shopper: Shopper) -> Outcome:
    sid, message = shopper.next()
    body = {"message": message} if sid is None else {"session_id": sid, "message": message}
    outcome = post(host, port, "/v1/chat", body)
    if outcome.status == 200:
        shopper.remember(outcome.body.get("session_id"))
    return outcome


def measure_capacity(host: str, port: int, dialogues: list[list[str]], clients: int = 8,
                     duration_s: float = 15.0) -> tuple[float, list[Outcome]]:
    """Closed loop: ``clients`` threads send back to back for ``duration_s``; (requests/s of 200s, outcomes)."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration_s
    shoppers = [Shopper(dialogues[i::clients] or dialogues) for i in range(clients)]

    def loop(shopper: Shopper) -> None:
        while time.monotonic() < deadline:
            outcome = _chat_once(host, port, shopper)
            with lock:
                outcomes.append(outcome)

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in shoppers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + 60)
    elapsed = time.monotonic() - started
    ok = sum(1 for o in outcomes if o.status == 200)
    return ok / elapsed, outcomes


def run_open_loop(host: str, port: int, dialogues: list[list[str]], rate: float, duration_s: float,
                  max_in_flight: int = 32, during: Callable[[float], None] | None = None) -> list[Outcome]:
    """Send ``rate`` chat requests/s for ``duration_s`` (at most rate*duration requests).

    ``during(elapsed_s)`` is called about every 0.1 s from the scheduling thread
    (a fault injector); it must return quickly or start its own thread.
    """
    total = int(rate * duration_s)
    shoppers = [Shopper(dialogues[i::max_in_flight] or dialogues) for i in range(max_in_flight)]
    outcomes: list[Outcome] = []
    start = time.monotonic()
    last_hook = 0.0
    with ThreadPoolExecutor(max_workers=max_in_flight) as pool:
        futures = []
        for i in range(total):
            due = start + i / rate
            while True:
                now = time.monotonic()
                if during is not None and now - last_hook >= 0.1:
                    last_hook = now
                    during(now - start)
                if now >= due:
                    break
                time.sleep(min(0.05, due - now))
            futures.append(pool.submit(_chat_once, host, port, shoppers[i % max_in_flight]))
        for f in futures:
            outcomes.append(f.result())
    return outcomes


def summary(outcomes: list[Outcome]) -> dict:
    """Counts by status, error count and latency percentiles (ms) of the 200s."""
    latencies = sorted(o.latency_s * 1000 for o in outcomes if o.status == 200)

    def pct(p: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) if latencies else None

    by_status: dict[str, int] = {}
    for o in outcomes:
        key = str(o.status) if o.status is not None else "no_response"
        by_status[key] = by_status.get(key, 0) + 1
    return {"requests": len(outcomes), "by_status": by_status, "p50_ms": pct(0.5), "p95_ms": pct(0.95),
            "p99_ms": pct(0.99)}
