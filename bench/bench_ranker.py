"""The ranking across sources against the plain fusion, on the demo store's held-out FAQ paraphrases.

Builds the demo FAQ/clause index from ``data/demo`` into ``var/bench_ranker/index``
(reused while the files are unchanged), classifies each held-out query's intent
with the project's intent head, and measures for each query:

* ``fusion``: the FAQ order of ``FAQSearcher.search`` (what ``retrieval.evaluate`` reports);
* ``ranker``: the same FAQ candidates reordered by ``retrieval.ranker.CandidateRanker``;
* ``ranker_with_clauses``: the ranker with the policy clauses competing too (for the
  policy intents, as in the dialogue): the gold FAQ must still come first.

Prints top-1 / recall@3 / MRR of each as JSON, and the decision the dialogue would
take (answer / clarify / fallback, and how often an answer is right).

    python -m bench.bench_ranker
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POLICY_INTENTS = frozenset({"return_refund", "exchange", "warranty", "price_protection", "invoice", "shipping",
                            "membership", "installation", "payment", "missing_item", "price_promotion"})


def _metrics(ranked: list[list[str]], gold: list[str]) -> dict[str, float]:
    from retrieval.metrics import mrr, recall_at_k, top1

    return {"top1": round(top1(ranked, gold), 4), "recall_at_3": round(recall_at_k(ranked, gold, 3), 4),
            "mrr": round(mrr(ranked, gold), 4)}


def run() -> dict[str, Any]:
    from retrieval.encoder import encoder_from_settings
    from retrieval.faq_search import FAQSearcher
    from retrieval.index_build import build_index, load_file_source
    from retrieval.intent import load_or_train
    from retrieval.keyword import KeywordIndex
    from retrieval.metrics import load_heldout
    from retrieval.models import ensure_offline_env
    from retrieval.ranker import Candidate, CandidateRanker, settle
    from retrieval.tokenize import Tokenizer
    from retrieval.vector_index import VectorIndex
    from schema.settings import load_settings
    from schema.types import RetrievalHit

    settings = load_settings()
    ensure_offline_env(settings)
    encoder = encoder_from_settings(settings)
    demo = PROJECT_ROOT / "data" / "demo"
    source = load_file_source(demo)
    index_dir = settings.var_dir / "bench_ranker" / "index"
    build_index(source, encoder, index_dir)
    searcher = FAQSearcher(VectorIndex(index_dir), KeywordIndex(Tokenizer()), encoder)
    searcher.warm_up()
    faqs = {f.faq_id: f for f in source.faqs}
    clauses = {c.clause_id: c for c in source.clauses}
    ranker = CandidateRanker.load()
    classifier = load_or_train(settings, encoder)

    heldout = [h for h in load_heldout(PROJECT_ROOT / "data" / "eval" / "faq_heldout.jsonl") if h.faq_id]
    intents = [p.intent for p in classifier.classify_batch([h.query for h in heldout])]
    gold = [h.faq_id for h in heldout]
    rows = []
    for h, intent in zip(heldout, intents, strict=True):
        hits = searcher.search(h.query, k=8)
        cands = [Candidate("faq", x.id, faqs[x.id].question, f"{faqs[x.id].question} {faqs[x.id].answer}",
                           x.score, about_product=faqs[x.id].about_product) for x in hits]
        clause_cands = []
        if intent in POLICY_INTENTS:
            for x in searcher.search_clauses(h.query, k=6):
                c = clauses[x.id]
                clause_cands.append(Candidate("clause", x.id, c.policy_title, c.text, x.score))
        rows.append((h, intent, hits, cands, clause_cands))

    def measure(r: CandidateRanker, contend: bool = True, settle_single: bool = True) -> dict[str, Any]:
        reranked, competing, decisions = [], [], {}
        for h, intent, _hits, cands, clause_cands in rows:
            ranked = r.rank(h.query, intent, cands)
            reranked.append([x.id for x in ranked])
            competing.append([x.id for x in r.rank(h.query, intent, cands + clause_cands)])
            d = (settle if settle_single else (lambda x: x))(searcher.decide([RetrievalHit("faq", x.id, x.score, "") for x in (r.contenders(ranked, intent) if contend else ranked)]))
            key = d.kind if d.kind != "answer" else ("answer_right" if d.hits[0].id == h.faq_id else "answer_wrong")
            decisions[key] = decisions.get(key, 0) + 1
        return {**_metrics(reranked, gold), "with_clauses": _metrics(competing, gold), "decisions": decisions}

    fusion = [[x.id for x in hits] for _h, _i, hits, _c, _cc in rows]
    zero = replace(ranker, weights=dict.fromkeys(ranker.weights, 0.0))
    out: dict[str, Any] = {"queries": len(heldout), "fusion": measure(zero, contend=False), "ranker": measure(ranker)}
    assert _metrics(fusion, gold)["top1"] == out["fusion"]["top1"]
    out["without"] = {k: measure(replace(ranker, weights={**ranker.weights, k: 0.0}))["top1"]
                      for k in ranker.weights}
    out["grid"] = {f"missing={t},condition={c}": (lambda m: (m["top1"], m["with_clauses"]["top1"]))(
        measure(replace(ranker, weights={**ranker.weights, "condition_missing": t, "condition_match": c})))
        for t in (-0.006, -0.02) for c in (0.02, 0.03)}
    out["single_offer_answered"] = measure(ranker, settle_single=False)["decisions"]
    return out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(run(), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
