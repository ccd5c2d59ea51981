"""A question about a product answered from the FAQ entries about that product.

The store's FAQ may hold entries about one product (``about.product_id``):
how to brew a tea, how long an install takes. When a shopper asks such a
question of the product being discussed, or of a category or brand whose
products include the one the FAQ is about, that entry answers it, rather than
the generic product card or a question of which product. The FAQ ranking
(``retrieval.ranker``, with the product's own entries favoured) decides; only a
confident answer counts (the searcher's answer decision, not an offer of options) on the
question's own words, without the boost the ranking gives a product's entries.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from dialog.policies.base import PolicyContext, PolicyResult
from dialog.policies.knowledge import KnowledgePolicy
from dialog.understand import Understanding
from retrieval.ranker import settle
from schema.types import RetrievalHit, Source

# The entry must be among this many best for the question with the product's name taken out.
RELEVANT_WITHOUT_NAME = 2
_FILLER = re.compile(r"[\s\W那这个款的呢吗嘛么啊呀吧]+")


def _without_names(u: Understanding) -> str:
    chars = list(u.text)
    for e in [u.product_link, *u.entities]:
        if e is not None and e.type in ("product", "brand", "category") and e.end <= len(chars):
            chars[e.start:e.end] = [" "] * (e.end - e.start)
    return "".join(chars).strip()


class ProductFAQ:
    def __init__(self, kb: KnowledgePolicy) -> None:
        self.kb = kb

    def about(self, u: Understanding, pc: PolicyContext, product_ids: Collection[str],
              implied: bool = False) -> tuple[str, PolicyResult] | None:
        """(product id, answer) when the best FAQ for ``u`` is about one of ``product_ids``, else None.

        ``implied``: the message names no product (好装吗, of the product discussed), so the
        ranking favours that product's entries; otherwise the message is ranked as a question of
        its own and the entry must win on its words.
        """
        if not product_ids:
            return None
        text = f"{u.follows} {u.text}" if u.follows else u.text
        focus = next(iter(product_ids)) if implied and len(product_ids) == 1 else None
        ranked = self.kb.rank(Understanding(text, u.intent, u.confidence, u.unsure), pc, focus, None,
                              with_clauses=False)
        faqs = self.kb.ranker.contenders(ranked, u.intent)
        if not faqs:
            return None
        about = faqs[0].candidate.about_product
        if about not in product_ids:
            return None
        hits = [RetrievalHit("faq", r.id, r.score, r.candidate.heading) for r in faqs]
        confident = settle(self.kb.searcher.decide(hits)).kind == "answer"
        # A bare follow-up (好装吗) scores low on its few words: the product's entry on the topic the
        # question's intent names (安装 for installation) answers it.
        on_topic = implied and self.kb.ranker.names_topic(u.intent, faqs[0].candidate.heading)
        if not (confident or on_topic):
            return None
        # The entry must also answer the question without the product's name: 是什么材质 is not
        # answered by the product's entry on another topic just because both name the product.
        rest = _without_names(u)
        if len(_FILLER.sub("", rest)) >= 2:
            again = self.kb.rank(Understanding(rest, u.intent, u.confidence, u.unsure), pc, focus, None,
                                 with_clauses=False)
            if faqs[0].id not in [r.id for r in again if r.kind == "faq"][:RELEVANT_WITHOUT_NAME]:
                return None
        result = self.kb.answer_choice(pc, faqs[0].id)
        result.sources.append(Source("product", about))
        return about, result
