"""Understanding benchmark: intent, entity-linking and anger latency, throughput and memory.

Owns: measuring ``retrieval.intent`` (head; optionally a fine-tuned folder),
``retrieval.entity_linking`` and ``retrieval.emotion`` on this machine, at 1
and 2 torch threads. Messages are the real held-out test lines. The encoder
runs with its query cache off, so every call really runs the model. Prints
one JSON document.

Run from the repository root (trains/loads the cached head on first use)::

    python bench/bench_nlu.py [--threads 1 2] [--messages 200] [--batch 256] [--finetune-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger(__name__)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def latency(fn: Callable[[str], object], messages: list[str], warmup: int = 5) -> dict[str, float]:
    """One message per call, as a chat turn does; milliseconds."""
    import numpy as np

    for text in messages[:warmup]:
        fn(text)
    timings = []
    for text in messages:
        start = time.perf_counter()
        fn(text)
        timings.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(float(np.percentile(timings, 50)), 2),
            "p95_ms": round(float(np.percentile(timings, 95)), 2),
            "mean_ms": round(statistics.fmean(timings), 2), "n": len(timings)}


def throughput(fn: Callable[[list[str]], object], texts: list[str], repeats: int = 3) -> dict[str, float]:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    return {"messages_per_s": round(statistics.median(rates), 1), "n": len(texts), "repeats": repeats}


def _lines(path: Path, field: str) -> list[str]:
    return [json.loads(line)[field] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(args: argparse.Namespace) -> dict[str, object]:
    from retrieval.emotion import EmotionScorer
    from retrieval.encoder import E5Encoder
    from retrieval.entity_linking import EntityLinker
    from retrieval.intent import IntentClassifier, load_or_train
    from retrieval.intent_finetune import FinetunedIntentModel
    from retrieval.lexicon_records import load_products_lexicon
    from retrieval.models import ensure_offline_env, resolve_model
    from schema.settings import load_settings

    settings = load_settings()
    ensure_offline_env(settings)
    memory = {"start_mib": rss_mib()}
    import torch

    memory["after_torch_import_mib"] = rss_mib()
    encoder = E5Encoder(resolve_model(settings), batch_size=32, cache_size=0, num_threads=args.threads[0])
    encoder.warm_up()
    memory["after_encoder_mib"] = rss_mib()
    started = time.perf_counter()
    classifier = load_or_train(settings, encoder, method="head")
    head_load_s = time.perf_counter() - started
    memory["after_intent_head_mib"] = rss_mib()
    emotion = EmotionScorer.load_or_train(settings, encoder)
    memory["after_emotion_mib"] = rss_mib()
    started = time.perf_counter()
    linker = EntityLinker.from_settings(load_products_lexicon(settings.data_dir / "demo" / "products.jsonl"),
                                        settings)
    linker.warm_up()
    linker_load_s = time.perf_counter() - started
    memory["after_linker_mib"] = rss_mib()
    finetuned = None
    if args.finetune_dir:
        finetuned = IntentClassifier(FinetunedIntentModel.load(args.finetune_dir), settings.intent_threshold,
                                     "finetune", args.finetune_dir)
        finetuned.classify("预热")
        memory["after_finetuned_mib"] = rss_mib()

    intents = _lines(settings.data_dir / "nlu" / "intents_test.jsonl", "text")
    entity_texts = _lines(settings.data_dir / "nlu" / "entities_eval.jsonl", "text")
    messages, batch = intents[:args.messages], (intents * 2)[:args.batch]
    report: dict[str, object] = {
        "machine": {"cpus": len(os.sched_getaffinity(0)), "loadavg_1m_at_start": round(os.getloadavg()[0], 2)},
        "load_seconds": {"intent_head_cached": round(head_load_s, 2), "linker": round(linker_load_s, 2)},
        "entity_linking": {  # pure Python: torch threads do not matter
            "single_message": latency(linker.link, entity_texts[:args.messages]),
            "batch": throughput(lambda ts: [linker.link(t) for t in ts], (entity_texts * 2)[:args.batch]),
        },
        "torch_threads": {},
    }
    for n in args.threads:
        torch.set_num_threads(n)
        row = {
            "classify_single": latency(classifier.classify, messages),
            "classify_batch": throughput(classifier.classify_batch, batch),
            "emotion_single": latency(emotion.score, messages),
        }
        if finetuned is not None:
            row["finetuned_classify_single"] = latency(finetuned.classify, messages)
            row["finetuned_classify_batch"] = throughput(finetuned.classify_batch, batch)
        report["torch_threads"][str(n)] = row  # type: ignore[index]
        logger.info("threads=%s done", n)
    memory["end_mib"] = rss_mib()
    memory["models_mib"] = round(memory["end_mib"] - memory["after_torch_import_mib"], 1)
    report["memory"] = memory
    report["machine"]["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)  # type: ignore[index]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_nlu.py", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts")
    parser.add_argument("--messages", type=int, default=200, help="single-message calls per measurement")
    parser.add_argument("--batch", type=int, default=256, help="messages per throughput run")
    parser.add_argument("--finetune-dir", type=Path, default=None, help="also time this fine-tuned model")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    text = json.dumps(run(args), ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
