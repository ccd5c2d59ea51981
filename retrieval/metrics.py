"""Ranking metrics for FAQ retrieval and the held-out evaluation.

Owns: top-1 accuracy, recall@k and MRR over ranked id lists, loading
``data/eval/faq_heldout.jsonl`` (``{faq_id, query}`` lines) and
``evaluate_faq``, which runs a searcher in dense-only, keyword-only and
hybrid mode. The evaluation report and the notebooks call ``evaluate_faq``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from schema.types import RetrievalHit


class RankingSearcher(Protocol):
    def search(self, query: str, k: int = 5, kind: str = "faq", mode: str = "hybrid"
               ) -> list[RetrievalHit]: ...


@dataclass(frozen=True)
class HeldoutQuery:
    faq_id: str | None  # None: a question no FAQ answers
    query: str


@dataclass(frozen=True)
class RankingMetrics:
    n: int
    top1: float
    recall_at_3: float
    recall_at_5: float
    mrr: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def load_heldout(path: Path | str) -> list[HeldoutQuery]:
    out: list[HeldoutQuery] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out.append(HeldoutQuery(row.get("faq_id"), row["query"]))
    return out


def top1(ranked: Sequence[Sequence[str]], gold: Sequence[str]) -> float:
    """Share of queries whose first result is the gold id."""
    if not gold:
        return 0.0
    return sum(bool(r) and r[0] == g for r, g in zip(ranked, gold, strict=True)) / len(gold)


def recall_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    """Share of queries whose gold id is among the first ``k`` results."""
    if not gold:
        return 0.0
    return sum(g in r[:k] for r, g in zip(ranked, gold, strict=True)) / len(gold)


def mrr(ranked: Sequence[Sequence[str]], gold: Sequence[str]) -> float:
    """Mean reciprocal rank of the gold id (0 when it is not retrieved)."""
    if not gold:
        return 0.0
    total = 0.0
    for r, g in zip(ranked, gold, strict=True):
        if g in r:
            total += 1.0 / (list(r).index(g) + 1)
    return total / len(gold)


def ranking_metrics(ranked: Sequence[Sequence[str]], gold: Sequence[str]) -> RankingMetrics:
    return RankingMetrics(
        n=len(gold),
        top1=round(top1(ranked, gold), 4),
        recall_at_3=round(recall_at_k(ranked, gold, 3), 4),
        recall_at_5=round(recall_at_k(ranked, gold, 5), 4),
        mrr=round(mrr(ranked, gold), 4),
    )


def evaluate_faq(
    searcher: RankingSearcher,
    heldout: Sequence[HeldoutQuery],
    *,
    k: int = 10,
    modes: Sequence[str] = ("dense", "keyword", "hybrid"),
) -> dict[str, RankingMetrics]:
    """Metrics per retrieval mode over the in-scope held-out queries."""
    in_scope = [h for h in heldout if h.faq_id]
    gold = [h.faq_id for h in in_scope]
    results: dict[str, RankingMetrics] = {}
    for mode in modes:
        ranked = [[hit.id for hit in searcher.search(h.query, k=k, kind="faq", mode=mode)]
                  for h in in_scope]
        results[mode] = ranking_metrics(ranked, gold)  # type: ignore[arg-type]
    return results
