"""FAQ and store-policy questions: the store's FAQ, the product's own FAQ and the
policy clauses in force compete in one ranking (``retrieval.ranker``).

For a policy question about a product (or a category), the clauses in force for that product
(exclusions and dates honoured by the graph) are candidates next to the clauses
of the other policies in force (marked as not applying to the product, which
the ranker penalises) and every FAQ. When the policies on the question's topic
all leave the product out, the reply says so (with what the product's own
description says on the topic, or for a category what its products' descriptions
say) instead of quoting another policy's clause. When no FAQ is a confident
answer, the one candidate on the question's topic that misses none of its
conditions answers (``CandidateRanker.best_supported``); 1/2/3 is offered only
when candidates are genuinely close. The answer given may re-read the intent
(``CandidateRanker.answer_topic``): its heading on another topical intent the
classifier ranked close says what the question was about (``PolicyResult.topic``).
"""

from __future__ import annotations

import logging
import re

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, Searcher, TextCache
from dialog.understand import Understanding
from retrieval.ranker import Candidate, CandidateRanker, Ranked, settle
from schema.types import ClauseInfo, RetrievalHit, Source

logger = logging.getLogger(__name__)

# Intents whose answer is a store rule that depends on the product's category.
POLICY_INTENTS = frozenset({"return_refund", "exchange", "warranty", "price_protection", "invoice",
                            "shipping", "membership", "installation", "payment", "missing_item",
                            "price_promotion"})
# Fused scores of e5 are compressed into about 0.80-0.93; below this a clause is
# not a confident match for a general (product-less) question.
CLAUSE_MIN_SCORE = 0.87
FAQ_CANDIDATES = 8
CLAUSE_CANDIDATES = 6
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


class KnowledgePolicy:
    def __init__(self, searcher: Searcher, cache: TextCache, ranker: CandidateRanker | None = None) -> None:
        self.searcher = searcher
        self.cache = cache
        self.ranker = ranker or CandidateRanker.load()

    def answer_choice(self, pc: PolicyContext, faq_id: str) -> PolicyResult:
        faq = self.cache.faq.get(faq_id)
        if faq is None:
            return PolicyResult(pc.say("fallback"), "fallback", fallback=True)
        return PolicyResult(pc.say("faq_answer", answer=faq.answer), "answer", [Source("faq", faq_id)],
                            resolved=True)

    def answer(self, u: Understanding, pc: PolicyContext, knowledge: Knowledge | None,
               product_id: str | None, product_name: str | None) -> PolicyResult:
        """The best of the FAQ entries and in-force clauses; offer three FAQs when they are close."""
        policy_question = u.intent in POLICY_INTENTS
        applying: set[str] | None = None
        if product_id and policy_question and knowledge is not None:
            clauses = knowledge.clauses_in_force(product_id=product_id, at=pc.now)
            for clause in clauses:
                self.cache.clauses.setdefault(clause.clause_id, clause)
            applying = {c.clause_id for c in clauses}
            left_out = self._left_out(u, pc, knowledge, product_id, product_name, applying)
            if left_out is not None:
                return left_out
        category = next((e for e in u.entities if e.type == "category"), None)
        if not product_id and category is not None and policy_question and knowledge is not None:
            in_force = {c.clause_id for c in knowledge.clauses_in_force(category=category.value, at=pc.now)}
            left_out = self._left_out(u, pc, knowledge, None, category.text, in_force, category=category.value)
            if left_out is not None:
                return left_out
        ranked = self.rank(u, pc, product_id, applying, with_clauses=policy_question)
        result = self._decide(u, pc, ranked, product_id, product_name)
        result.topic = self._topic(u, result)
        return result

    def _topic(self, u: Understanding, result: PolicyResult) -> str | None:
        """The intent the answer given is about, when it re-reads the classified one."""
        if result.trigger != "answer" or not result.sources:
            return None
        first = result.sources[0]
        if first.kind == "faq":
            faq = self.cache.faq.get(first.id)
            heading = faq.question if faq else None
        else:
            clause = next((self.cache.clauses.get(s.id) for s in result.sources if s.kind == "clause"), None)
            heading = clause.policy_title if clause else None
        return self.ranker.answer_topic(heading, u.intent, u.ranking) if heading else None

    # --- candidates and ranking --------------------------------------------------------
    def rank(self, u: Understanding, pc: PolicyContext, product_id: str | None,
             applying: set[str] | None, with_clauses: bool) -> list[Ranked]:
        candidates = [self._faq_candidate(h) for h in self.searcher.search(u.text, k=FAQ_CANDIDATES)]
        if with_clauses and (product_id or not u.unsure):
            in_force = {cid for cid, c in self.cache.clauses.items() if c.in_force(pc.now)} | (applying or set())
            for h in self.searcher.search_clauses(u.text, k=CLAUSE_CANDIDATES, allowed_clause_ids=in_force):
                clause = self.cache.clauses.get(h.id)
                if clause is not None:
                    applies = None if applying is None else h.id in applying
                    candidates.append(Candidate("clause", h.id, clause.policy_title, clause.text, h.score,
                                                applies_to_product=applies))
        return self.ranker.rank(u.text, u.intent, candidates, product_id)

    def _faq_candidate(self, hit: RetrievalHit) -> Candidate:
        faq = self.cache.faq.get(hit.id)
        question = faq.question if faq else hit.text
        return Candidate("faq", hit.id, question, f"{question} {faq.answer if faq else ''}", hit.score,
                         about_product=faq.about_product if faq else None)

    def _decide(self, u: Understanding, pc: PolicyContext, ranked: list[Ranked], product_id: str | None,
                product_name: str | None) -> PolicyResult:
        faqs = self.ranker.contenders(ranked, u.intent)
        clauses = [r for r in ranked if r.kind == "clause" and r.candidate.applies_to_product is not False]
        clause_floor = 0.0 if product_id else CLAUSE_MIN_SCORE
        if ranked and ranked[0].kind == "clause" and clauses and clauses[0].score >= clause_floor:
            return self._quote(pc, clauses[0], product_name)
        hits = [RetrievalHit("faq", r.id, r.score, r.candidate.heading) for r in faqs]
        decision = settle(self.searcher.decide(hits))
        if decision.kind == "answer":
            return self.answer_choice(pc, decision.hits[0].id)
        # No confident FAQ: the one candidate on the topic that misses no condition, when
        # nothing of its kind is close, answers instead of an offer of 1/2/3 or a fallback.
        supported = self.ranker.best_supported(ranked, None if u.unsure else u.intent)
        if supported is not None:
            logger.debug("supported %s %s answers (score %.4f)", supported.kind, supported.id, supported.score)
            if supported.kind == "clause":
                return self._quote(pc, supported, product_name)
            return self.answer_choice(pc, supported.id)
        # A clause on another topic is no answer for want of a better one.
        on_topic = [r for r in clauses if not r.features["clause_off_topic"]]
        if on_topic and on_topic[0].score >= clause_floor:
            return self._quote(pc, on_topic[0], product_name)
        if decision.kind == "clarify":
            options = decision.hits[:3]
            lines = "\n".join(f"{i}. {h.text}" for i, h in enumerate(options, 1))
            pc.context.pending_options = [h.id for h in options]
            pc.context.pending_option_kind = "faq"
            return PolicyResult(pc.say("faq_clarify", options=lines), "clarify",
                                [Source("faq", h.id) for h in options],
                                suggestions=[h.text for h in options])
        return PolicyResult(pc.say("fallback"), "fallback", fallback=True)

    def _quote(self, pc: PolicyContext, best: Ranked, product_name: str | None) -> PolicyResult:
        clause: ClauseInfo = self.cache.clauses[best.id]
        reply = pc.say("policy_quote", policy=clause.policy_title, clause=clause.text)
        if product_name:
            reply = f"{product_name}：{reply}"
        return PolicyResult(reply, "answer", [Source("policy", clause.policy_id), Source("clause", clause.clause_id)],
                            resolved=True)

    # --- a product the question's policies leave out ----------------------------------------
    def _left_out(self, u: Understanding, pc: PolicyContext, knowledge: Knowledge, product_id: str | None,
                  product_name: str | None, applying: set[str], category: str | None = None) -> PolicyResult | None:
        """The policies on the intent's topic are in force, but none applies to this product (or category:
        then what the descriptions of the category's products say on the topic)."""
        on_topic = {c.policy_id: c.policy_title for c in self.cache.clauses.values()
                    if c.in_force(pc.now) and self.ranker.names_topic(u.intent, c.policy_title)}
        if not on_topic:
            return None
        applying_policies = {self.cache.clauses[cid].policy_id for cid in applying if cid in self.cache.clauses}
        if applying_policies & set(on_topic):
            return None
        policy_id = sorted(on_topic)[0]
        if product_id is not None:
            info = self.cache.products.get(product_id) or knowledge.product(product_id)
            pages = [info] if info else []
        else:
            pages = [p for p in self.cache.products.values()
                     if p.category and (p.category == category or p.category.startswith(f"{category}/"))]
        said, shown = [], []
        for page in pages:
            sentences = [s.strip() for s in _SENTENCE.findall(page.description or "")
                         if self.ranker.names_topic(u.intent, s)]
            if sentences:
                text = "".join(sentences[:2])
                said.append(text if product_id else f"{page.display_name}：{text}")
                shown.append(page.product_id)
        text = "；".join(t.rstrip("。；;") for t in said[:3])
        reason = pc.say("product_page_says", text=f"{text}。") if said else ""
        logger.debug("policy %s leaves %s out", policy_id, product_id or category)
        sources = [Source("product", pid) for pid in ([product_id] if product_id else shown[:3])]
        sources.append(Source("policy", policy_id))
        return PolicyResult(pc.say("policy_not_applicable", product=product_name or product_id,
                                   policy=on_topic[policy_id], reason=reason), "answer", sources, resolved=True)
