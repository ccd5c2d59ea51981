"""The understanding evaluation report: intents, entity links, FAQ retrieval, anger.

Owns: running every understanding component on its held-out data and writing
``<reports_dir>/nlu_eval.json`` and ``nlu_eval.md`` with the numbers, the
targets and the misses (worst intent confusions, entity-linking errors).

Data: intent test set ``data/nlu/intents_test.jsonl`` (never trained or
tuned on), ``data/nlu/entities_eval.jsonl`` (linked against a lexicon built
from ``data/demo/products.jsonl``), ``data/eval/faq_heldout.jsonl`` (needs
the FAQ index: ``python -m retrieval.index_build``), and
``data/nlu/emotion.jsonl`` (cross-validated).

CLI::

    python -m retrieval.evaluate [--intent-method head|finetune] [--finetune-dir DIR]
        [--skip faq,emotion,...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import RetrievalError
from retrieval.nlu_metrics import (
    classification_report,
    expected_calibration_error,
    load_entity_examples,
    score_entities,
)
from schema.settings import Settings

logger = logging.getLogger(__name__)

TARGETS = {"intent_accuracy": 0.95, "entity_f1": 0.95, "faq_top1": 0.90, "faq_recall_at_3": 0.97}
SECTIONS = ("intent", "entities", "faq", "emotion")


def evaluate_intents(classifier, test_path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in test_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts, gold = [r["text"] for r in rows], [r["intent"] for r in rows]
    started = time.perf_counter()
    preds = classifier.classify_batch(texts)
    seconds = time.perf_counter() - started
    rep = classification_report(gold, [p.intent for p in preds], classifier.labels)
    conf = np.array([p.confidence for p in preds])
    correct = np.array([p.intent == g for p, g in zip(preds, gold, strict=True)])
    sure = ~np.array([p.unsure for p in preds])
    misses = [{"text": t, "gold": g, "predicted": p.intent, "confidence": p.confidence}
              for t, g, p in zip(texts, gold, preds, strict=True) if p.intent != g]
    return {
        "method": classifier.method, "model_dir": str(classifier.folder), **asdict(rep),
        "ece": round(expected_calibration_error(conf, correct), 4),
        "threshold": classifier.threshold, "unsure_share": round(float((~sure).mean()), 4),
        "accuracy_when_sure": round(float(correct[sure].mean()), 4) if sure.any() else None,
        "accuracy_when_unsure": round(float(correct[~sure].mean()), 4) if (~sure).any() else None,
        "ms_per_message_batched": round(1000 * seconds / len(texts), 2),
        "misses": sorted(misses, key=lambda m: -m["confidence"])[:40],
    }


def evaluate_entities(settings: Settings, eval_path: Path, products_path: Path) -> dict[str, Any]:
    from retrieval.entity_linking import EntityLinker
    from retrieval.lexicon_records import load_products_lexicon

    examples = load_entity_examples(eval_path)
    linker = EntityLinker.from_settings(load_products_lexicon(products_path), settings)
    linker.warm_up()
    started = time.perf_counter()
    predictions = [linker.link(ex.text) for ex in examples]
    seconds = time.perf_counter() - started
    scores = score_entities(examples, predictions)
    return {
        "n_messages": len(examples), "n_gold": sum(len(e.entities) for e in examples),
        "micro": scores.micro.as_dict(),
        "by_type": {k: v.as_dict() for k, v in sorted(scores.by_type.items())},
        "by_noise": {k: v.as_dict() for k, v in sorted(scores.by_noise.items())},
        "ms_per_message": round(1000 * seconds / len(examples), 2),
        "errors": scores.errors,
    }


def evaluate_faq_section(settings: Settings, encoder, heldout_path: Path) -> dict[str, Any]:
    from retrieval.faq_search import FAQSearcher
    from retrieval.keyword import KeywordIndex
    from retrieval.metrics import evaluate_faq, load_heldout
    from retrieval.tokenize import Tokenizer
    from retrieval.vector_index import VectorIndex

    searcher = FAQSearcher(VectorIndex(settings.index_dir), KeywordIndex(Tokenizer()), encoder)
    searcher.warm_up()
    results = evaluate_faq(searcher, load_heldout(heldout_path))
    return {mode: r.as_dict() for mode, r in results.items()}


def evaluate_emotion_section(settings: Settings, encoder) -> dict[str, Any]:
    from retrieval.emotion import HANDOFF_THRESHOLD, evaluate_emotion, load_emotion_data

    result = evaluate_emotion(load_emotion_data(settings.data_dir / "nlu" / "emotion.jsonl"), encoder)
    return {**asdict(result), "handoff_threshold": HANDOFF_THRESHOLD}


def run(settings: Settings, *, intent_method: str = "head", finetune_dir: Path | None = None,
        skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Run every section not in ``skip``; a section that fails records its error instead."""
    from retrieval.encoder import encoder_from_settings
    from retrieval.models import ensure_offline_env

    ensure_offline_env(settings)
    encoder = encoder_from_settings(settings)
    data = settings.data_dir
    report: dict[str, Any] = {"targets": TARGETS}

    def section(name: str, fn) -> None:
        if name in skip:
            return
        started = time.perf_counter()
        try:
            report[name] = fn()
        except (RetrievalError, OSError) as e:
            logger.warning("section %s failed: %s", name, e)
            report[name] = {"error": str(e)}
        report.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 1)

    def intent() -> dict[str, Any]:
        from retrieval.intent import IntentClassifier, load_or_train
        from retrieval.intent_finetune import FinetunedIntentModel

        if finetune_dir is not None:
            clf = IntentClassifier(FinetunedIntentModel.load(finetune_dir), settings.intent_threshold,
                                   "finetune", finetune_dir)
        else:
            clf = load_or_train(settings, encoder, method=intent_method)
        return evaluate_intents(clf, data / "nlu" / "intents_test.jsonl")

    section("intent", intent)
    section("entities", lambda: evaluate_entities(settings, data / "nlu" / "entities_eval.jsonl",
                                                  data / "demo" / "products.jsonl"))
    section("faq", lambda: evaluate_faq_section(settings, encoder, data / "eval" / "faq_heldout.jsonl"))
    section("emotion", lambda: evaluate_emotion_section(settings, encoder))
    return report


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def render_markdown(report: dict[str, Any]) -> str:
    lines = ["# NLU evaluation", "", "Written by `python -m retrieval.evaluate`.", ""]
    t = report["targets"]
    it, el, faq, emo = (report.get(k, {}) for k in SECTIONS)
    lines += ["| metric | value | target |", "|---|---|---|"]
    if "accuracy" in it:
        lines += [f"| intent accuracy ({it['method']}, {it['n']} test messages) | {_pct(it['accuracy'])} "
                  f"| {_pct(t['intent_accuracy'])} |",
                  f"| intent macro-F1 | {it['macro_f1']:.3f} | |",
                  f"| intent ECE (test) | {it['ece']:.3f} | |",
                  f"| unsure (< {it['threshold']}) share / accuracy when sure | {_pct(it['unsure_share'])} / "
                  f"{_pct(it['accuracy_when_sure'])} | |"]
    if "micro" in el:
        m = el["micro"]
        lines += [f"| entity linking P / R / F1 ({el['n_messages']} messages, {el['n_gold']} entities) | "
                  f"{m['precision']:.3f} / {m['recall']:.3f} / {m['f1']:.3f} | F1 {t['entity_f1']} |"]
    if "hybrid" in faq:
        h = faq["hybrid"]
        lines += [f"| FAQ top-1 / recall@3 / MRR (hybrid, {h['n']} queries) | {_pct(h['top1'])} / "
                  f"{_pct(h['recall_at_3'])} / {h['mrr']:.3f} | {_pct(t['faq_top1'])} / "
                  f"{_pct(t['faq_recall_at_3'])} |"]
    if "auc_combined" in emo:
        lines += [f"| anger ROC-AUC rules / model / combined ({emo['folds']}-fold CV x{emo['repeats']}) | "
                  f"{emo['auc_rules']:.3f} / {emo['auc_model']:.3f} / {emo['auc_combined']:.3f} | |",
                  f"| hand-off (> {emo['handoff_threshold']}) precision / recall of furious | "
                  f"{_pct(emo['handoff_precision'])} / {_pct(emo['handoff_recall'])} | |"]
    for name in SECTIONS:
        if "error" in report.get(name, {}):
            lines += [f"| {name} | **not run**: {report[name]['error']} | |"]
    if "per_class_f1" in it:
        lines += ["", "## Intents: per-class F1", "", "| intent | F1 |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in sorted(it["per_class_f1"].items(), key=lambda kv: kv[1])]
        lines += ["", "## Intents: worst confusions (gold -> predicted)", ""]
        lines += [f"- {g} -> {p}: {n}" for g, p, n in it["worst_confusions"]]
        lines += ["", "Most confident misses:", ""]
        lines += [f"- `{m['text']}` gold {m['gold']}, predicted {m['predicted']} ({m['confidence']:.2f})"
                  for m in it["misses"][:15]]
    if "by_type" in el:
        lines += ["", "## Entity linking by type", "", "| type | P | R | F1 |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} |"
                  for k, v in el["by_type"].items()]
        lines += ["", "## Entity linking by noise", "", "| noise | P | R | F1 |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} |"
                  for k, v in el["by_noise"].items()]
        lines += ["", "Errors:", ""]
        lines += [f"- `{e['text']}` missed {e['missed']} spurious {e['spurious']}" for e in el["errors"]]
    if faq and "error" not in faq:
        lines += ["", "## FAQ retrieval by mode", "", "| mode | top-1 | recall@3 | recall@5 | MRR |",
                  "|---|---|---|---|---|"]
        lines += [f"| {k} | {_pct(v['top1'])} | {_pct(v['recall_at_3'])} | {_pct(v['recall_at_5'])} | "
                  f"{v['mrr']:.3f} |" for k, v in faq.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--intent-method", choices=("head", "finetune"), default="head")
    parser.add_argument("--finetune-dir", type=Path, default=None,
                        help="evaluate this fine-tuned model folder instead of load_or_train")
    parser.add_argument("--skip", default="", help=f"comma-separated sections to skip: {','.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default settings.reports_dir)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from schema.settings import load_settings

    settings = load_settings()
    skip = frozenset(s.strip() for s in args.skip.split(",") if s.strip())
    unknown = skip - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections in --skip: {sorted(unknown)}")
    report = run(settings, intent_method=args.intent_method, finetune_dir=args.finetune_dir, skip=skip)
    out = args.out or settings.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "nlu_eval.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "nlu_eval.md").write_text(render_markdown(report), encoding="utf-8")
    print(render_markdown(report).split("\n## ")[0])
    print(f"wrote {out / 'nlu_eval.json'} and {out / 'nlu_eval.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
