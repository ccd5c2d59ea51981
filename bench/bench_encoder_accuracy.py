"""Encoder accuracy benchmark: does the ONNX serving encoder answer like the torch reference?

Owns: comparing the sentence-transformers encoder (``torch``) with the ONNX
exports (``onnx-int8``, ``onnx-fp32``) on what the service decides with
them, in one process and one run:

* cosine of each ONNX precision to the reference, per text, on the
  verification sentences and the intent test messages (both e5 prompts);
* intent accuracy on ``data/nlu/intents_test.jsonl`` for every pair of
  (backend the head was trained with, backend that serves it), so the
  numbers say whether the cached head must be trained with the serving
  backend's embeddings;
* FAQ top-1 / recall@3 on ``data/eval/faq_heldout.jsonl`` (hybrid and
  dense), the index built from ``data/demo`` files with each backend.

Heads and indexes are written to a temporary directory; no shared cache is
touched. Run from the repository root after ``python -m retrieval.models bootstrap``::

    python -m bench.bench_encoder_accuracy [--backends torch onnx-int8 onnx-fp32] [--sections cosine intent faq]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from retrieval.encoder import E5Encoder
from retrieval.models import ensure_offline_env, load_verification_sentences, resolve_model
from retrieval.onnx_encoder import OnnxE5Encoder
from retrieval.onnx_export import onnx_dir_for
from schema.settings import PROJECT_ROOT, load_settings

logger = logging.getLogger(__name__)
BACKENDS = ("torch", "onnx-int8", "onnx-fp32")
SECTIONS = ("cosine", "intent", "faq")


def make_encoder(backend: str, checkpoint: str, threads: int):
    if backend == "torch":
        return E5Encoder(checkpoint, cache_size=100_000, num_threads=threads)
    precision = backend.removeprefix("onnx-")
    return OnnxE5Encoder(checkpoint, onnx_dir_for(Path(checkpoint)), precision=precision, cache_size=100_000,
                         num_threads=threads)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cosines(reference, other, texts: list[str]) -> dict[str, float]:
    values = np.concatenate([
        np.sum(reference.encode_queries(texts) * other.encode_queries(texts), axis=1),
        np.sum(reference.encode_passages(texts) * other.encode_passages(texts), axis=1),
    ])
    return {"n": int(values.size), "mean": round(float(values.mean()), 5), "min": round(float(values.min()), 5)}


def intent_matrix(encoders: dict, data_dir: Path) -> dict[str, dict[str, float]]:
    """Accuracy of a head trained with one backend and served with another."""
    from retrieval.intent_head import HeadIntentModel, train_head
    from schema.intents import intent_names

    labels = intent_names()
    train = _jsonl(data_dir / "nlu" / "intents_train.jsonl")
    test = _jsonl(data_dir / "nlu" / "intents_test.jsonl")
    texts, gold = [r["text"] for r in test], [r["intent"] for r in test]
    out: dict[str, dict[str, float]] = {}
    for trained_with, encoder in encoders.items():
        head, _ = train_head([r["text"] for r in train], [r["intent"] for r in train], labels, encoder)
        out[f"trained_{trained_with}"] = {}
        for served_with, serving in encoders.items():
            model = HeadIntentModel(serving, head.labels, head._tfidf, head._lr, head.temperature, head.config)
            predicted = [head.labels[i] for i in model.predict_proba(texts).argmax(axis=1)]
            accuracy = float(np.mean([p == g for p, g in zip(predicted, gold, strict=True)]))
            out[f"trained_{trained_with}"][f"served_{served_with}"] = round(100 * accuracy, 2)
        logger.info("intent head trained with %s: %s", trained_with, out[f"trained_{trained_with}"])
    return out


def faq_table(encoders: dict, data_dir: Path, workdir: Path) -> dict[str, dict[str, float]]:
    """FAQ metrics with the index built and queried by each backend."""
    from retrieval.faq_search import FAQSearcher
    from retrieval.index_build import build_index, load_file_source
    from retrieval.keyword import KeywordIndex
    from retrieval.metrics import evaluate_faq, load_heldout
    from retrieval.tokenize import Tokenizer
    from retrieval.vector_index import VectorIndex

    heldout = load_heldout(data_dir / "eval" / "faq_heldout.jsonl")
    out = {}
    for name, encoder in encoders.items():
        index_dir = workdir / f"index-{name}"
        build_index(load_file_source(data_dir / "demo"), encoder, index_dir)
        searcher = FAQSearcher(VectorIndex(index_dir), KeywordIndex(Tokenizer()), encoder)
        searcher.warm_up()
        results = evaluate_faq(searcher, heldout, modes=("dense", "hybrid"))
        out[name] = {f"{mode}_{metric}": round(100 * getattr(r, metric), 2)
                     for mode, r in results.items() for metric in ("top1", "recall_at_3")}
        out[name]["n"] = results["hybrid"].n
        logger.info("faq %s: %s", name, out[name])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_encoder_accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: all cores)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    settings = load_settings()
    ensure_offline_env(settings)
    checkpoint = resolve_model(settings)
    started = time.perf_counter()
    encoders = {b: make_encoder(b, checkpoint, args.threads) for b in args.backends}
    data_dir = PROJECT_ROOT / "data"
    report: dict[str, object] = {"benchmark": "encoder_accuracy", "loadavg_1m_at_start": round(os.getloadavg()[0], 2)}
    if "torch" in encoders and "cosine" in args.sections:
        verification = load_verification_sentences()
        intent_texts = [r["text"] for r in _jsonl(data_dir / "nlu" / "intents_test.jsonl")]
        report["cosine_to_torch"] = {
            b: {"verification_sentences": cosines(encoders["torch"], e, verification),
                "intent_test_messages": cosines(encoders["torch"], e, intent_texts)}
            for b, e in encoders.items() if b != "torch"}
    if "intent" in args.sections:
        report["intent_accuracy_pct"] = intent_matrix(encoders, data_dir)
    if "faq" in args.sections:
        with tempfile.TemporaryDirectory(prefix="yeban-enc-acc-") as tmp:
            report["faq_pct"] = faq_table(encoders, data_dir, Path(tmp))
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
