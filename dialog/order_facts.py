"""What the store's own rules say about an order's state.

Owns: finding, among the clauses in force for an order's products and the
store-wide FAQ answers, the sentence that states a fact about the order's state:
when a paid order ships (``dispatch``), what happens to an unpaid order
(``unpaid_closed``). A fact is a list of patterns of general order language
(``order_facts.json``, validated when loaded) that must all match one sentence.

A sentence that names a condition (定制, 清仓...: ``retrieval.ranker`` condition
concepts) the order's products do not name is another case's rule and is skipped;
one that names a condition the products name comes first (a customised product's
own dispatch time before the general one); clauses come before FAQ answers.
With no such sentence the reply says nothing about it: no store fact is made up.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dialog.errors import DialogError
from dialog.policies.base import Knowledge, TextCache
from schema.types import ClauseInfo, OrderInfo, Source

logger = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).with_name("order_facts.json")
FACTS = ("dispatch", "unpaid_closed")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


class OrderFactsError(DialogError):
    """``order_facts.json`` is missing, malformed or lacks a fact."""


@dataclass(frozen=True)
class Statement:
    """One sentence of the store's rules and where it comes from."""

    text: str
    sources: tuple[Source, ...]


class OrderFacts:
    """``OrderFacts.load(knowledge, cache, concepts).statement("dispatch", order, now)`` -> Statement | None."""

    def __init__(self, patterns: dict[str, tuple[re.Pattern[str], ...]], knowledge: Knowledge | None,
                 cache: TextCache, concepts: Callable[[str], set[str]]) -> None:
        self.patterns = patterns
        self.knowledge = knowledge
        self.cache = cache
        self.concepts = concepts

    @classmethod
    def load(cls, knowledge: Knowledge | None, cache: TextCache, concepts: Callable[[str], set[str]],
             path: Path = DEFAULT_PATH) -> OrderFacts:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))["facts"]
            patterns = {str(k): tuple(re.compile(str(p)) for p in v) for k, v in raw.items()}
        except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError, re.error) as e:
            raise OrderFactsError(f"{path}: not an order-facts file: {e}") from e
        missing = [f for f in FACTS if not patterns.get(f)]
        if missing:
            raise OrderFactsError(f"{path}: facts {missing} need a non-empty list of patterns")
        return cls(patterns, knowledge, cache, concepts)

    def statement(self, fact: str, order: OrderInfo, now: datetime) -> Statement | None:
        """The store's sentence stating ``fact`` for ``order``, or None when its rules state none."""
        product_ids = self._products(order)
        product_text = " ".join(self._product_text(pid) for pid in product_ids)
        have = self.concepts(product_text) if product_text else set()
        best: tuple[tuple[int, int, int], Statement] | None = None
        for rank, (text, sources) in enumerate(self._texts(product_ids, now)):
            for sentence in (s.strip() for s in _SENTENCE.findall(text)):
                matches = [p.search(sentence) for p in self.patterns[fact]] if sentence else [None]
                if not all(matches):
                    continue
                # The fact's own words (待付款 for an unpaid order) are no condition of another case.
                named = self.concepts(sentence) - set().union(*(self.concepts(m.group(0)) for m in matches if m))
                if named - have:
                    continue  # the rule of a case this order is not
                key = (-len(named & have), 0 if sources[0].kind == "policy" else 1, rank)
                if best is None or key < best[0]:
                    best = (key, Statement(sentence, sources))
        return best[1] if best else None

    # --- what is read -------------------------------------------------------------------
    def _products(self, order: OrderInfo) -> list[str]:
        skus = [sku for sku, _ in order.items]
        if not skus or self.knowledge is None:
            return []
        return self.knowledge.products_of_skus(skus)

    def _product_text(self, product_id: str) -> str:
        info = self.cache.products.get(product_id)
        if info is None and self.knowledge is not None:
            info = self.knowledge.product(product_id)
        return " ".join(x for x in (info.name, info.category, info.description) if x) if info else ""

    def _texts(self, product_ids: list[str], now: datetime) -> Iterable[tuple[str, tuple[Source, ...]]]:
        clauses: dict[str, ClauseInfo] = {}
        if self.knowledge is not None and product_ids:
            for pid in product_ids:
                clauses.update({c.clause_id: c for c in self.knowledge.clauses_in_force(product_id=pid, at=now)})
        else:
            clauses = {cid: c for cid, c in self.cache.clauses.items() if c.in_force(now)}
        for c in sorted(clauses.values(), key=lambda c: (c.policy_id, c.order)):
            yield c.text, (Source("policy", c.policy_id), Source("clause", c.clause_id))
        for faq in self.cache.faq.values():
            if faq.about_product is None or faq.about_product in product_ids:
                yield faq.answer, (Source("faq", faq.faq_id),)
