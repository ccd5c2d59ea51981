"""One ranking across sources: FAQ entries and policy clauses compete for one message.

Owns: the store-independent features of a (question, candidate) pair and the
score that orders the candidates. The base is the fused dense + keyword score
of ``retrieval.faq_search``; structural features adjust it by weights kept as
data (``ranker.json``, validated when loaded):

* ``clause_off_topic``: a clause whose policy title names none of the topic words
  of the message's intent (退货 for return_refund, 安装 for installation...): an
  exchange clause that mentions 安装 does not answer how to install. FAQ entries
  carry no topic (on the demo store's held-out paraphrases a topic read from the
  FAQ question cost 3 points of top-1: too many FAQs share a topic), and a bonus
  for on-topic clauses let them push the right FAQ down (59% instead of 66%);
* ``condition_match`` / ``condition_missing``: the condition concepts the
  question names (未拆封 / 已拆封, 定制, 清仓, 运费, 易耗...) that the candidate
  names too (a clause in its text, an FAQ in its question and answer: reading the
  question alone cost a point of top-1 on the demo store), or none of them; 未拆封
  is read before 拆封, so the two never mix;
* ``about_linked_product`` / ``about_other_product``: with a product being
  discussed, an FAQ about that product, or about another product;
* ``clause_not_for_product``: a clause whose policy does not apply to the product
  being discussed (its exclusions or targets leave the product out).

Every feature is computed from general language and the loaded store's own
texts, so it means the same in every store; nothing is fitted to one store's
questions. ``python -m bench.bench_ranker`` measures the ranking against the
plain fusion on the demo store's held-out FAQ paraphrases.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from retrieval.errors import RetrievalError

DEFAULT_PATH = Path(__file__).with_name("ranker.json")
WEIGHTS = ("clause_off_topic", "condition_match", "condition_missing", "about_linked_product", "about_other_product",
           "clause_not_for_product")


class RankerConfigError(RetrievalError):
    """``ranker.json`` is missing, malformed or names an unknown weight."""


@dataclass(frozen=True)
class Candidate:
    """One answer a reply could rest on."""

    kind: str  # faq | clause
    id: str
    heading: str  # the FAQ question, or the clause's policy title
    text: str  # the FAQ question and answer, or the clause text
    fused: float  # the fused dense + keyword score
    about_product: str | None = None  # the product an FAQ is about
    applies_to_product: bool | None = None  # a clause: whether its policy applies to the linked product


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    score: float
    features: dict[str, float]

    @property
    def kind(self) -> str:
        return self.candidate.kind

    @property
    def id(self) -> str:
        return self.candidate.id


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace(" ", "")


@dataclass(frozen=True)
class CandidateRanker:
    weights: dict[str, float]
    topics: dict[str, tuple[str, ...]]
    conditions: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> CandidateRanker:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            weights = {str(k): float(v) for k, v in raw["weights"].items()}
            topics = {str(k): tuple(str(w) for w in v) for k, v in raw["topics"].items()}
            conditions = {str(k): tuple(str(w) for w in v) for k, v in raw["conditions"].items()}
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise RankerConfigError(f"{path}: not a ranker configuration: {e}") from e
        unknown, missing = set(weights) - set(WEIGHTS), set(WEIGHTS) - set(weights)
        if unknown or missing:
            raise RankerConfigError(f"{path}: weights: unknown {sorted(unknown)}, missing {sorted(missing)}")
        for name, words in (*topics.items(), *conditions.items()):
            if not words or any(not w.strip() for w in words):
                raise RankerConfigError(f"{path}: '{name}' needs a non-empty list of non-empty words")
        return cls(weights, topics, conditions)

    # --- features ---------------------------------------------------------------------
    def concepts(self, text: str) -> set[str]:
        """The condition concepts ``text`` names; longer words first, each span read once."""
        t = _norm(text)
        taken = [False] * len(t)
        found: set[str] = set()
        words = sorted(((w, c) for c, ws in self.conditions.items() for w in ws), key=lambda x: -len(x[0]))
        for word, concept in words:
            w = _norm(word)
            start = t.find(w)
            while start >= 0:
                end = start + len(w)
                if not any(taken[start:end]):
                    taken[start:end] = [True] * len(w)
                    found.add(concept)
                start = t.find(w, end)
        return found

    def names_topic(self, intent: str | None, text: str) -> bool:
        t = _norm(text)
        return any(_norm(w) in t for w in self.topics.get(intent or "", ()))

    def features(self, question_concepts: set[str], intent: str | None, c: Candidate,
                 product_id: str | None) -> dict[str, float]:
        f = dict.fromkeys(WEIGHTS, 0.0)
        if c.kind == "clause" and self.topics.get(intent or "") and not self.names_topic(intent, c.heading):
            f["clause_off_topic"] = 1.0
        if question_concepts:
            shared = question_concepts & self.concepts(c.text)
            f["condition_match"] = len(shared) / len(question_concepts)
            f["condition_missing"] = 0.0 if shared else 1.0
        if c.kind == "faq" and c.about_product and product_id:
            f["about_linked_product" if c.about_product == product_id else "about_other_product"] = 1.0
        if c.kind == "clause" and product_id and c.applies_to_product is False:
            f["clause_not_for_product"] = 1.0
        return f

    def contenders(self, ranked: list[Ranked], intent: str | None) -> list[Ranked]:
        """The FAQ candidates that genuinely compete with the best one, best first.

        When the best FAQ's question names the intent's topic, a runner-up that names
        none of it is no close alternative (it is dropped for the answer / offer
        decision); the order of the rest is kept.
        """
        faqs = [r for r in ranked if r.kind == "faq"]
        if not faqs or not self.names_topic(intent, faqs[0].candidate.heading):
            return faqs
        return [faqs[0], *(r for r in faqs[1:] if self.names_topic(intent, r.candidate.heading))]

    # --- ranking ------------------------------------------------------------------------
    def rank(self, question: str, intent: str | None, candidates: list[Candidate],
             product_id: str | None = None) -> list[Ranked]:
        """Candidates best first (ties keep the given order)."""
        q = self.concepts(question)
        out = []
        for c in candidates:
            f = self.features(q, intent, c, product_id)
            out.append(Ranked(c, c.fused + sum(self.weights[k] * v for k, v in f.items()), f))
        return sorted(out, key=lambda r: -r.score)


def settle(decision):
    """An offer of a single option is no choice: answer it (``decision`` is a ``faq_search.Decision``)."""
    if decision.kind == "clarify" and len(decision.hits) == 1:
        return replace(decision, kind="answer")
    return decision
