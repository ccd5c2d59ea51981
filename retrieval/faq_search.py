"""Hybrid FAQ and policy-clause retrieval, and the answer / clarify / fallback decision.

Owns: fusing dense (FAISS cosine) and keyword (normalised BM25) scores per
FAQ or clause id, and turning ranked hits into a ``Decision``.

Scoring: every row (an FAQ question, a paraphrase, its question+answer row,
or a clause) gets a cosine and a BM25 score. An FAQ's cosine blends the best
question/paraphrase cosine with its Q+A row's cosine; its keyword score is
the BM25 of the Q+A row (the FAQ as one document). The fused score is
``dense_weight * cosine + (1 - dense_weight) * bm25_norm`` (or reciprocal-rank
fusion when ``fusion="rrf"``). The weighted sum was chosen by measurement on
``data/eval/faq_heldout.jsonl`` (RRF lost 30 points of top-1 there, because
keyword matching alone is weak on paraphrases) and, unlike RRF, gives a score
with an absolute meaning that thresholds can use.

Decision (thresholds in ``SearchConfig``, fitted on the held-out set):
``answer`` when the top score is at least ``answer_threshold`` and leads the
runner-up by ``answer_margin``; ``clarify`` (offer the top three) when the
top score is at least ``clarify_threshold``; ``fallback`` otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from retrieval.encoder import Encoder
from retrieval.keyword import KeywordIndex
from retrieval.vector_index import IndexSnapshot, VectorIndex
from schema.types import RetrievalHit

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[Mode, ...] = ("dense", "keyword", "hybrid")


@dataclass(frozen=True)
class SearchConfig:
    """Fusion and decision settings.

    Defaults measured on ``data/eval/faq_heldout.jsonl`` (224 paraphrases of
    220 FAQs) with the bootstrapped multilingual-e5-small; out-of-scope
    behaviour on 26 hand-written chit-chat / unrelated questions. e5 cosines
    are compressed (almost everything lands in 0.80-0.93), hence the narrow
    bands. Re-fit them when the encoder changes.

    * ``qa_weight``: an FAQ's cosine is ``(1 - qa_weight) * max(question and
      paraphrase cosines) + qa_weight * cosine of its question+answer row``
      (0.5: top-1 0.66 -> 0.74 over questions/paraphrases alone).
    * ``dense_weight``: weight of that cosine in the fused score; the rest goes
      to normalised BM25 (0.97; larger keyword weights lowered top-1: BM25 alone
      reaches only 0.39 top-1 on paraphrases).
    * ``answer_threshold`` / ``answer_margin``: answer directly at fused score
      >= 0.875 with a lead >= 0.015 over the second FAQ: 32% of held-out
      queries, 98.6% of them correct.
    * ``clarify_threshold``: from 0.865 up to the answer rule, offer the top
      ``clarify_options`` FAQs (54% of held-out queries; the right FAQ is among
      the three offered for 89%). Below it, fall back: 14% of held-out queries
      and 96% of the out-of-scope questions.
    """

    fusion: Literal["weighted", "rrf"] = "weighted"
    qa_weight: float = 0.5
    dense_weight: float = 0.97
    rrf_k: int = 60
    answer_threshold: float = 0.875
    answer_margin: float = 0.015
    clarify_threshold: float = 0.865
    clarify_options: int = 3
    auto_refresh: bool = True


@dataclass(frozen=True)
class Decision:
    kind: Literal["answer", "clarify", "fallback"]
    hits: tuple[RetrievalHit, ...]

    @property
    def top(self) -> RetrievalHit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class _Grouping:
    """Rows of one kind grouped by id: ``ids[inverse[j]]`` is the id of ``rows[j]``.

    ``is_qa[j]`` marks the question+answer rows, scored apart from the others.
    """

    rows: np.ndarray
    ids: list[str]
    inverse: np.ndarray
    is_qa: np.ndarray
    first_row: list[int]

    @classmethod
    def of(cls, snap: IndexSnapshot, rows: np.ndarray) -> _Grouping:
        index_of: dict[str, int] = {}
        ids: list[str] = []
        first_row: list[int] = []
        inverse = np.empty(len(rows), dtype=np.int64)
        is_qa = np.zeros(len(rows), dtype=bool)
        for j, r in enumerate(rows):
            item = snap.items[r]
            pos = index_of.get(item.id)
            if pos is None:
                pos = index_of[item.id] = len(ids)
                ids.append(item.id)
                first_row.append(int(r))
            inverse[j] = pos
            is_qa[j] = item.role == "qa"
        return cls(rows, ids, inverse, is_qa, first_row)

    def dense_per_id(self, row_scores: np.ndarray, qa_weight: float) -> np.ndarray:
        """Max over question/paraphrase rows, blended with the Q+A row where there is one."""
        n = len(self.ids)
        texts = _max_per_id(self.inverse[~self.is_qa], n, row_scores[~self.is_qa])
        if not self.is_qa.any() or qa_weight <= 0.0:
            return texts
        qa = _max_per_id(self.inverse[self.is_qa], n, row_scores[self.is_qa])
        has_qa, has_text = np.isfinite(qa), np.isfinite(texts)
        both = has_qa & has_text
        out = np.where(has_text, texts, qa)
        out[both] = (1.0 - qa_weight) * texts[both] + qa_weight * qa[both]
        return out

    def keyword_per_id(self, row_scores: np.ndarray) -> np.ndarray:
        """BM25 of the Q+A row (the whole FAQ as one document); else the best other row."""
        n = len(self.ids)
        texts = _max_per_id(self.inverse[~self.is_qa], n, row_scores[~self.is_qa])
        if not self.is_qa.any():
            return texts
        qa = _max_per_id(self.inverse[self.is_qa], n, row_scores[self.is_qa])
        return np.where(np.isfinite(qa), qa, texts)


def _max_per_id(ids: np.ndarray, n_ids: int, values: np.ndarray) -> np.ndarray:
    out = np.full(n_ids, -np.inf, dtype=np.float32)
    np.maximum.at(out, ids, values)
    return out


def _ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


class FAQSearcher:
    """Search FAQ entries and policy clauses; all parts are passed in.

    ``index`` is refreshed (one ``stat``) before each search when
    ``config.auto_refresh``; ``keyword_index`` follows the snapshot version.
    """

    def __init__(
        self,
        index: VectorIndex,
        keyword_index: KeywordIndex,
        encoder: Encoder,
        config: SearchConfig | None = None,
    ) -> None:
        self.index = index
        self.keyword_index = keyword_index
        self.encoder = encoder
        self.config = config or SearchConfig()
        self._groups: dict[tuple[str, str], _Grouping] = {}

    def warm_up(self) -> None:
        """Load the index, build BM25 and tokenizer, so the first query is fast."""
        snap = self.index.snapshot()
        self.keyword_index.for_snapshot(snap)
        self.encoder.encode_queries(["预热"])

    # --- search --------------------------------------------------------------
    def search(self, query: str, k: int = 5, kind: str = "faq", mode: Mode = "hybrid",
               allowed_ids: Iterable[str] | None = None) -> list[RetrievalHit]:
        """Top ``k`` ids of ``kind`` for ``query``, best first, one hit per id."""
        if self.config.auto_refresh:
            self.index.refresh_if_changed()
        snap = self.index.snapshot()
        group = self._group(snap, kind, allowed_ids)
        if not query.strip() or len(group.rows) == 0 or k <= 0:
            return []
        dense, keyword = self._row_scores(snap, query, group.rows, mode)
        id_dense = group.dense_per_id(dense, self.config.qa_weight)
        id_kw = group.keyword_per_id(keyword)
        fused = self._fuse(id_dense, id_kw, mode)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            RetrievalHit(
                kind=kind,
                id=group.ids[i],
                score=float(fused[i]),
                text=snap.items[group.first_row[i]].text,
                dense_score=float(id_dense[i]) if mode != "keyword" else None,
                keyword_score=float(id_kw[i]) if mode != "dense" else None,
            )
            for i in order
        ]

    def _group(self, snap: IndexSnapshot, kind: str, allowed_ids: Iterable[str] | None) -> _Grouping:
        key = (snap.version, kind)
        if allowed_ids is None and key in self._groups:
            return self._groups[key]
        group = _Grouping.of(snap, snap.select_rows(kind, allowed_ids))
        if allowed_ids is None:
            self._groups = {k: v for k, v in self._groups.items() if k[0] == snap.version}
            self._groups[key] = group
        return group

    def search_clauses(self, query: str, k: int = 5,
                       allowed_clause_ids: Iterable[str] | None = None,
                       mode: Mode = "hybrid") -> list[RetrievalHit]:
        """Policy clauses for ``query``; pass the clauses in force to restrict the search."""
        return self.search(query, k=k, kind="clause", mode=mode, allowed_ids=allowed_clause_ids)

    def _row_scores(self, snap: IndexSnapshot, query: str, rows: np.ndarray, mode: Mode
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine and normalised BM25 for each of ``rows`` (zeros for a mode's unused part)."""
        dense = keyword = np.zeros(len(rows), dtype=np.float32)
        if mode != "keyword":
            dense = snap.scores(self.encoder.encode_queries([query]), rows)
        if mode != "dense":
            bm25 = self.keyword_index.for_snapshot(snap)
            keyword = bm25.normalized_scores(self.keyword_index.query_terms(query))[rows]
        return dense, keyword

    def _fuse(self, dense: np.ndarray, keyword: np.ndarray, mode: Mode) -> np.ndarray:
        if mode == "dense":
            return dense
        if mode == "keyword":
            return keyword
        cfg = self.config
        if cfg.fusion == "rrf":
            return (1.0 / (cfg.rrf_k + _ranks(dense)) + 1.0 / (cfg.rrf_k + _ranks(keyword))).astype(
                np.float32)
        return (cfg.dense_weight * dense + (1.0 - cfg.dense_weight) * keyword).astype(np.float32)

    # --- decision ---------------------------------------------------------------
    def decide(self, hits: list[RetrievalHit]) -> Decision:
        return decide(hits, self.config)


def decide(hits: list[RetrievalHit], config: SearchConfig) -> Decision:
    """Answer, offer choices, or fall back, from hybrid hits sorted best first."""
    if not hits:
        return Decision("fallback", ())
    top = hits[0]
    runner_up = hits[1].score if len(hits) > 1 else float("-inf")
    if top.score >= config.answer_threshold and top.score - runner_up >= config.answer_margin:
        return Decision("answer", (top,))
    if top.score >= config.clarify_threshold:
        return Decision("clarify", tuple(hits[: config.clarify_options]))
    return Decision("fallback", tuple(hits[: config.clarify_options]))
