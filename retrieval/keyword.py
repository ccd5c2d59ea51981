"""BM25 keyword scoring over the vector index's items, on jieba terms.

Owns: Okapi BM25 (self-implemented, no extra dependency) and keeping one
BM25 model in step with the current index snapshot. The index items are the
documents: each FAQ question, each paraphrase and each clause is one row,
with the same row numbers as the FAISS index so scores can be fused per row.

``normalized_scores`` divides by the query's upper bound (every query term
matched with saturated term frequency in a document of average length), so
1.0 means "all query words found" and the value is comparable across queries.
Query terms never seen in the corpus count with the largest IDF: a query
about something the store never wrote about scores low.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.tokenize import Tokenizer
from retrieval.vector_index import IndexSnapshot


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.2
    b: float = 0.75


class BM25:
    """Okapi BM25 over pre-tokenised documents (lists of terms)."""

    def __init__(self, docs: Sequence[Sequence[str]], params: BM25Params | None = None) -> None:
        self.params = params or BM25Params()
        self.n_docs = len(docs)
        self.doc_len = np.array([len(d) for d in docs], dtype=np.float32)
        self.avgdl = float(self.doc_len.mean()) if self.n_docs else 0.0
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                rows, tfs = postings.setdefault(term, ([], []))
                rows.append(i)
                tfs.append(tf)
        self.postings = {
            t: (np.array(r, dtype=np.int64), np.array(f, dtype=np.float32))
            for t, (r, f) in postings.items()
        }
        self.max_idf = self._idf(0)
        self.idf = {t: self._idf(len(r)) for t, (r, _) in self.postings.items()}
        k1, b = self.params.k1, self.params.b
        self._norm = (k1 * (1.0 - b + b * self.doc_len / self.avgdl)) if self.n_docs else self.doc_len

    def _idf(self, df: int) -> float:
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query (terms counted once each)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        k1 = self.params.k1
        for term in set(query_terms):
            post = self.postings.get(term)
            if post is None:
                continue
            rows, tf = post
            out[rows] += self.idf[term] * tf * (k1 + 1.0) / (tf + self._norm[rows])
        return out

    def upper_bound(self, query_terms: Sequence[str]) -> float:
        """Score of a perfect match: every term, tf 1, average document length."""
        return sum(self.idf.get(t, self.max_idf) for t in set(query_terms))

    def normalized_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        bound = self.upper_bound(query_terms)
        if bound <= 0.0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.minimum(self.scores(query_terms) / bound, 1.0).astype(np.float32)


class KeywordIndex:
    """BM25 over an ``IndexSnapshot``'s items, rebuilt when the snapshot version changes."""

    def __init__(self, tokenizer: Tokenizer, params: BM25Params | None = None) -> None:
        self.tokenizer = tokenizer
        self.params = params or BM25Params()
        self._version: str | None = None
        self._bm25: BM25 | None = None
        self._lock = threading.Lock()

    def for_snapshot(self, snapshot: IndexSnapshot) -> BM25:
        """The BM25 model whose rows are ``snapshot``'s items (built once per version)."""
        bm25, version = self._bm25, self._version
        if bm25 is not None and version == snapshot.version:
            return bm25
        with self._lock:
            if self._bm25 is None or self._version != snapshot.version:
                docs = [self.tokenizer.terms(it.text) for it in snapshot.items]
                self._bm25, self._version = BM25(docs, self.params), snapshot.version
            return self._bm25

    def query_terms(self, query: str) -> list[str]:
        return self.tokenizer.terms(query)

    def search(
        self, snapshot: IndexSnapshot, query: str, k: int, rows: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (row, normalised BM25) with a positive score, among ``rows`` if given."""
        scores = self.for_snapshot(snapshot).normalized_scores(self.query_terms(query))
        if rows is not None:
            masked = np.zeros_like(scores)
            masked[rows] = scores[rows]
            scores = masked
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(r), float(scores[r])) for r in order if scores[r] > 0.0]
