"""Scoring for the understanding components: intents, entity links, anger.

Owns: the metric definitions the evaluation report and the tests share:
classification accuracy / macro-F1 / per-class F1 / confusions, expected
calibration error, entity-linking micro precision / recall / F1 (with the
matching rule below) and loading ``entities_eval.jsonl``. FAQ ranking
metrics live in ``retrieval.metrics``.

Entity matching rule: a predicted link matches a gold entity when type and
value agree; for product, category and brand links the set of alternatives
must agree as well (``{value} | candidates``), so a linker that hides a real
ambiguity, or invents one, does not score. Colour ``candidates`` are spellings
of the same colour and are ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schema.types import EntityLink

AMBIGUOUS_TYPES = frozenset({"product", "category", "brand"})


# --- entity linking -------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldEntity:
    type: str
    value: str
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityExample:
    id: str
    text: str
    entities: tuple[GoldEntity, ...]
    noise: tuple[str, ...] = ()


def load_entity_examples(path: Path | str) -> list[EntityExample]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                ents = tuple(GoldEntity(e["type"], e["value"], tuple(e.get("candidates", ())))
                             for e in row["entities"])
                out.append(EntityExample(row["id"], row["text"], ents, tuple(row.get("noise", ()))))
    return out


def _key(type_: str, value: str, candidates: Sequence[str]) -> tuple[str, frozenset[str]]:
    if type_ in AMBIGUOUS_TYPES:
        return (type_, frozenset({value, *candidates}))
    return (type_, frozenset({value}))


def gold_keys(example: EntityExample) -> Counter:
    return Counter(_key(e.type, e.value, e.candidates) for e in example.entities)


def link_keys(links: Sequence[EntityLink]) -> Counter:
    return Counter(_key(x.type, x.value, x.candidates) for x in links)


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class EntityScores:
    micro: PRF = field(default_factory=PRF)
    by_type: dict[str, PRF] = field(default_factory=dict)
    by_noise: dict[str, PRF] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)


def score_entities(examples: Sequence[EntityExample], predictions: Sequence[Sequence[EntityLink]]) -> EntityScores:
    """Micro P/R/F1 overall, per entity type and per noise kind, plus the misses."""
    scores = EntityScores()
    for ex, links in zip(examples, predictions, strict=True):
        gold, pred = gold_keys(ex), link_keys(links)
        tp, fp, fn = gold & pred, pred - gold, gold - pred
        buckets = [scores.micro] + [scores.by_noise.setdefault(n, PRF()) for n in ex.noise]
        for b in buckets:
            b.tp += sum(tp.values())
            b.fp += sum(fp.values())
            b.fn += sum(fn.values())
        for counter, attr in ((tp, "tp"), (fp, "fp"), (fn, "fn")):
            for (t, _), n in counter.items():
                prf = scores.by_type.setdefault(t, PRF())
                setattr(prf, attr, getattr(prf, attr) + n)
        if fp or fn:
            scores.errors.append({
                "id": ex.id, "text": ex.text,
                "missed": [[t, sorted(v)] for t, v in fn.elements()],
                "spurious": [[t, sorted(v)] for t, v in fp.elements()],
            })
    return scores


# --- classification ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassificationReport:
    n: int
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    labels: tuple[str, ...]
    confusion: list[list[int]]  # rows gold, columns predicted, in ``labels`` order
    worst_confusions: list[tuple[str, str, int]]  # (gold, predicted, count)


def classification_report(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> ClassificationReport:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = tuple(labels)
    f1s = f1_score(gold, pred, labels=list(labels), average=None, zero_division=0)
    cm = confusion_matrix(gold, pred, labels=list(labels))
    pairs = [(labels[i], labels[j], int(cm[i, j])) for i in range(len(labels))
             for j in range(len(labels)) if i != j and cm[i, j]]
    pairs.sort(key=lambda x: (-x[2], x[0], x[1]))
    return ClassificationReport(
        n=len(gold), accuracy=float(accuracy_score(gold, pred)),
        macro_f1=float(f1_score(gold, pred, labels=list(labels), average="macro", zero_division=0)),
        per_class_f1={lab: round(float(f), 4) for lab, f in zip(labels, f1s, strict=True)},
        labels=labels, confusion=cm.tolist(), worst_confusions=pairs[:15],
    )


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE with equal-width confidence bins: sum over bins of |accuracy - confidence| * share."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if confidence.size == 0:
        return 0.0
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += abs(correct[mask].mean() - confidence[mask].mean()) * mask.mean()
    return float(ece)
