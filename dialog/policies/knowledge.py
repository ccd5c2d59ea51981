"""FAQ and store-policy questions: hybrid FAQ retrieval plus the policy clauses
in force for the product (or category) being discussed."""

from __future__ import annotations

import logging

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, Searcher, TextCache
from dialog.understand import Understanding
from schema.types import ClauseInfo, Source

logger = logging.getLogger(__name__)

# Intents whose answer is a store rule that depends on the product's category.
POLICY_INTENTS = frozenset({"return_refund", "exchange", "warranty", "price_protection", "invoice",
                            "shipping", "membership", "installation", "payment", "missing_item",
                            "price_promotion"})
# Fused scores of e5 are compressed into about 0.80-0.93; below this a clause is
# not a confident match for a general (product-less) question.
CLAUSE_MIN_SCORE = 0.87


class KnowledgePolicy:
    def __init__(self, searcher: Searcher, cache: TextCache) -> None:
        self.searcher = searcher
        self.cache = cache

    def answer_choice(self, pc: PolicyContext, faq_id: str) -> PolicyResult:
        faq = self.cache.faq.get(faq_id)
        if faq is None:
            return PolicyResult(pc.say("fallback"), "fallback", fallback=True)
        return PolicyResult(pc.say("faq_answer", answer=faq.answer), "answer", [Source("faq", faq_id)],
                            resolved=True)

    def answer(self, u: Understanding, pc: PolicyContext, knowledge: Knowledge | None,
               product_id: str | None, product_name: str | None) -> PolicyResult:
        """Quote the in-force clause for a product when there is one; else the FAQ."""
        if product_id and u.intent in POLICY_INTENTS and knowledge is not None:
            clause_result = self._clause_for_product(u, pc, knowledge, product_id, product_name)
            if clause_result is not None:
                return clause_result
        hits = self.searcher.search(u.text, k=5)
        decision = self.searcher.decide(hits)
        if decision.kind == "answer":
            return self.answer_choice(pc, decision.hits[0].id)
        if decision.kind == "clarify":
            options = decision.hits[:3]
            lines = "\n".join(f"{i}. {self._question(h.id, h.text)}" for i, h in enumerate(options, 1))
            pc.context.pending_options = [h.id for h in options]
            pc.context.pending_option_kind = "faq"
            return PolicyResult(pc.say("faq_clarify", options=lines), "clarify",
                                [Source("faq", h.id) for h in options],
                                suggestions=[self._question(h.id, h.text) for h in options])
        if u.intent in POLICY_INTENTS and not u.unsure:
            in_force = {cid for cid, c in self.cache.clauses.items() if c.in_force(pc.now)}
            clause_result = self._best_clause(u, pc, in_force)
            if clause_result is not None:
                return clause_result
        return PolicyResult(pc.say("fallback"), "fallback", fallback=True)

    def _question(self, faq_id: str, fallback: str) -> str:
        faq = self.cache.faq.get(faq_id)
        return faq.question if faq else fallback

    def _clause_for_product(self, u, pc, knowledge: Knowledge, product_id: str,
                            product_name: str | None) -> PolicyResult | None:
        clauses = knowledge.clauses_in_force(product_id=product_id, at=pc.now)
        if not clauses:
            return None
        for clause in clauses:
            self.cache.clauses.setdefault(clause.clause_id, clause)
        return self._best_clause(u, pc, {c.clause_id for c in clauses}, product_name, threshold=0.0)

    def _best_clause(self, u, pc, allowed: set[str], product_name: str | None = None,
                     threshold: float = CLAUSE_MIN_SCORE) -> PolicyResult | None:
        hits = self.searcher.search_clauses(u.text, k=3, allowed_clause_ids=allowed)
        if not hits or hits[0].score < threshold:
            return None
        clause: ClauseInfo | None = self.cache.clauses.get(hits[0].id)
        if clause is None:
            return None
        reply = pc.say("policy_quote", policy=clause.policy_title, clause=clause.text)
        if product_name:
            reply = f"{product_name}：{reply}"
        return PolicyResult(reply, "answer", [Source("policy", clause.policy_id), Source("clause", clause.clause_id)],
                            resolved=True)
