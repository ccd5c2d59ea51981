"""Vector-index benchmark: build throughput, size on disk, hybrid query latency.

Owns: measuring ``retrieval.index_build`` and ``retrieval.faq_search`` with the
real e5 encoder on the demo store's FAQ and policy texts. Builds into a
temporary directory (never touches ``settings.index_dir``) and prints one
JSON document.

Run from the repository root (after ``python -m retrieval.models bootstrap``)::

    python -m bench.bench_index [--data data/demo] [--heldout data/eval/faq_heldout.jsonl]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.encoder import E5Encoder
from retrieval.faq_search import FAQSearcher
from retrieval.index_build import build_index, encoder_name, load_file_source
from retrieval.keyword import KeywordIndex
from retrieval.metrics import evaluate_faq, load_heldout
from retrieval.models import ensure_offline_env
from retrieval.tokenize import Tokenizer
from retrieval.vector_index import VectorIndex
from schema.settings import load_settings

logger = logging.getLogger(__name__)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class PrecomputedQueries:
    """Encoder stand-in serving query vectors the real encoder computed up front."""

    def __init__(self, encoder: E5Encoder, queries: list[str]) -> None:
        self.inner = encoder
        self.name = encoder_name(encoder)
        unique = list(dict.fromkeys([*queries, "预热"]))
        self.vectors = dict(zip(unique, encoder.encode_queries(unique), strict=True))

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode_passages(self, texts):
        return self.inner.encode_passages(texts)

    def encode_queries(self, texts):
        return np.stack([self.vectors[t] for t in texts])


def latency(fn, queries: list[str]) -> dict[str, float]:
    timings = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        timings.append((time.perf_counter() - start) * 1000)
    arr = np.asarray(timings)
    return {"p50_ms": round(float(np.percentile(arr, 50)), 2),
            "p95_ms": round(float(np.percentile(arr, 95)), 2),
            "max_ms": round(float(arr.max()), 2), "n": len(timings)}


def run(data_dir: Path, heldout_path: Path) -> dict:
    settings = load_settings()
    ensure_offline_env(settings)
    encoder = E5Encoder.from_settings(settings, cache_size=0)
    encoder.warm_up()
    source = load_file_source(data_dir)
    heldout = load_heldout(heldout_path)
    queries = [h.query for h in heldout]
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        index_dir = Path(tmp)
        full = build_index(source, encoder, index_dir)
        vdir = Path(full.path)
        report["build_full"] = {
            "texts": full.total, "faqs": full.faqs, "clauses": full.clauses,
            "seconds": full.seconds,
            "texts_per_s": round(full.embedded / full.seconds, 1) if full.seconds else None,
        }
        report["size_on_disk"] = {
            "version_dir_bytes": dir_size(vdir),
            "faiss_index_bytes": (vdir / "faiss.index").stat().st_size,
            "items_bytes": (vdir / "items.jsonl").stat().st_size,
        }
        bumped = build_index(replace(source, version="bench-2"), encoder, index_dir)
        report["build_incremental_nothing_changed"] = {
            "seconds": bumped.seconds, "embedded": bumped.embedded, "reused": bumped.reused}

        tokenizer = Tokenizer()
        index = VectorIndex(index_dir)
        start = time.perf_counter()
        searcher = FAQSearcher(index, KeywordIndex(tokenizer), encoder)
        searcher.warm_up()
        report["searcher_warm_up_s"] = round(time.perf_counter() - start, 3)
        for q in queries[:10]:
            searcher.search(q)
        report["query_latency"] = {
            mode: latency(lambda q, m=mode: searcher.search(q, k=5, mode=m), queries)
            for mode in ("hybrid", "dense", "keyword")
        }
        report["query_latency"]["clauses_hybrid"] = latency(
            lambda q: searcher.search_clauses(q, k=5), queries[:100])
        # The same searches with query vectors embedded beforehand in one batch: the cost
        # of FAISS + BM25 + fusion alone, independent of encoder speed and CPU contention.
        memo = PrecomputedQueries(encoder, queries)
        fast = FAQSearcher(index, KeywordIndex(tokenizer), memo)
        fast.warm_up()
        report["search_without_encoding"] = {
            "hybrid": latency(lambda q: fast.search(q, k=5), queries),
            "clauses_hybrid": latency(lambda q: fast.search_clauses(q, k=5), queries),
        }
        report["quality"] = {m: r.as_dict() for m, r in evaluate_faq(fast, heldout).items()}
    import torch

    report["torch_threads"] = torch.get_num_threads()
    report["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_index",
                                     description=__doc__.split("\n")[0])
    settings = load_settings()
    parser.add_argument("--data", type=Path, default=settings.data_dir / "demo")
    parser.add_argument("--heldout", type=Path,
                        default=settings.data_dir / "eval" / "faq_heldout.jsonl")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    text = json.dumps(run(args.data, args.heldout), ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
