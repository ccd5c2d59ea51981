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
  being discussed (its exclusions or targets leave the product out);
* ``faq_off_topic``: an FAQ whose question and answer both name none of the topic
  words of the intent (a tea-brewing FAQ for a return question). Read from the
  whole entry, not the question alone, so FAQs that share a topic are not told
  apart by it: it only pushes down the entries that have nothing to do with it.

``supported`` / ``best_supported``: a candidate on the intent's topic that misses
none of the question's conditions is *supported*; the best one answers without a
1/2/3 offer when no other supported candidate of its kind is close (weights and
bounds in ``ranker.json``, ``supported_answer``).

``answer_topic``: the answer chosen re-reads the intent when two topical intents
compete (see the method).

Every feature is computed from general language and the loaded store's own
texts, so it means the same in every store; nothing is fitted to one store's
questions. ``python -m bench.bench_ranker`` measures the ranking against the
plain fusion on the demo store's held-out FAQ paraphrases.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from retrieval.errors import RetrievalError

DEFAULT_PATH = Path(__file__).with_name("ranker.json")
WEIGHTS = ("clause_off_topic", "condition_match", "condition_missing", "about_linked_product", "about_other_product",
           "clause_not_for_product", "faq_off_topic")


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
    supported_floor: float = 0.84
    supported_margin: float = 0.015
    answer_topic_top: int = 3

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
        try:
            bounds = raw["supported_answer"]
            floor, margin = float(bounds["floor"]), float(bounds["margin"])
        except (KeyError, TypeError, ValueError) as e:
            raise RankerConfigError(f"{path}: supported_answer needs a floor and a margin: {e}") from e
        if not (0.0 < floor < 1.0 and 0.0 <= margin < 0.2):
            raise RankerConfigError(f"{path}: supported_answer: floor must lie in (0, 1), margin in [0, 0.2)")
        try:
            top = raw["answer_topic"]["ranking_top"]
        except (KeyError, TypeError) as e:
            raise RankerConfigError(f"{path}: answer_topic needs ranking_top: {e}") from e
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 5:
            raise RankerConfigError(f"{path}: answer_topic.ranking_top must be an integer from 1 to 5, not {top!r}")
        return cls(weights, topics, conditions, floor, margin, top)

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
        if c.kind == "faq" and self.topics.get(intent or "") and not self.names_topic(intent, c.text):
            f["faq_off_topic"] = 1.0
        return f

    def supported(self, r: Ranked) -> bool:
        """On the intent's topic, for the product, and missing none of the question's conditions."""
        f = r.features
        on_topic = not (f["clause_off_topic"] or f["faq_off_topic"])
        return on_topic and not f["condition_missing"] and not f["clause_not_for_product"] \
            and not f["about_other_product"]

    def best_supported(self, ranked: list[Ranked], intent: str | None) -> Ranked | None:
        """The supported candidate that answers at once, or None when there is none or it has a close rival.

        Only an intent with topic words can support a candidate (the caller passes None
        for an unsure intent). Rivals are the other supported candidates of the same kind
        (an FAQ and a clause that agree are no choice to offer) whose heading names the
        topic when the best one's does.
        """
        if not self.topics.get(intent or ""):
            return None
        supported = [r for r in ranked if self.supported(r)]
        if not supported or supported[0].score < self.supported_floor:
            return None
        best = supported[0]
        # A clearly better candidate off the topic says the intent may be wrong; one that also
        # misses the question's condition says nothing.
        blocking = next((r for r in ranked if r is best or not r.features["condition_missing"]), best)
        if blocking.score - best.score >= self.supported_margin:
            return None
        # An entry whose heading names the topic outranks one that mentions it only in passing.
        titled = self.names_topic(intent, best.candidate.heading)
        rival = next((r for r in supported[1:] if r.kind == best.kind
                      and self.names_topic(intent, r.candidate.heading) >= titled), None)
        if rival is not None and best.score - rival.score < self.supported_margin:
            return None
        return best

    def answer_topic(self, heading: str, intent: str | None,
                     ranking: Sequence[tuple[str, float]]) -> str | None:
        """The topical intent the answer given is about, when the classifier put it second or third.

        Two topical intents often compete on one message: its question word sounds like
        one (多少钱, 多久, 几折) and its topic noun belongs to another. The answer the
        ranking chose is evidence the classifier lacks: when its heading (FAQ question or
        policy title) names none of the classified intent's topic words but names those of
        exactly one intent, and the classifier ranked that one among its first
        ``answer_topic_top``, the question was about that one. Only an intent with topic
        words is re-read (a complaint stays a complaint).
        """
        if not self.topics.get(intent or "") or self.names_topic(intent, heading):
            return None
        named = [name for name in self.topics if self.names_topic(name, heading)]
        if len(named) != 1:  # a heading on two topics (退货运费谁出) is evidence for neither
            return None
        close = {name for name, _ in ranking[:self.answer_topic_top]}
        return named[0] if named[0] in close else None

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
