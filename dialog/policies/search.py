"""Product search and recommendation: up to three in-stock products for a
category, attribute values, a price window and a descriptive wish, with why
each matches; follow-ups on the list (第二个多少钱, 有没有便宜点的, 第一个有L码吗).

Structured constraints (category, price window, attribute values as facets)
go to the graph as parameters (``graph.search``);
a descriptive wish (适合夏天, 送长辈) ranks the candidates by semantic search
over the product documents of the vector index, restricted to the candidates.
When nothing satisfies every constraint, the reply names the constraint to
relax and offers the nearest products without it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from dialog.policies.base import PolicyContext, PolicyResult
from dialog.policies.catalog_view import ProductLinks, card, price_range, price_text, variant_label
from dialog.policies.search_request import SearchRequest, looks_like_search, parse_request
from dialog.templates import Templates
from dialog.understand import Understanding
from graph.search import Candidate, Facet, FacetMatches
from retrieval.errors import RetrievalError
from schema.types import EntityLink, RetrievalHit, Source

logger = logging.getLogger(__name__)

SHOPPING_TEMPLATES = Path(__file__).resolve().parent.parent / "templates_shopping.json"
MAX_RESULTS = 3
_ORDINAL = re.compile(r"第\s*([1-3一二三])\s*(?:个|款|件|种|双|台|条)?|([1-3一二三])号")
_ORDINALS = {"1": 0, "2": 1, "3": 2, "一": 0, "二": 1, "三": 2}
_SENTENCE = re.compile(r"[。；;！!？?\n]")


class CandidateSource(Protocol):
    def candidates(self, *, category: str | None = None, product_ids: Sequence[str] | None = None,
                   min_price: float | None = None, max_price: float | None = None,
                   in_stock_only: bool = True, category_word: str | None = None) -> list[Candidate]: ...

    def facet_matches(self, facets: Sequence[Facet]) -> FacetMatches: ...


class ProductRanker(Protocol):
    def search(self, query: str, k: int = 5, kind: str = "faq", mode: str = "hybrid",
               allowed_ids: Sequence[str] | None = None) -> list[RetrievalHit]: ...


def ordinal(text: str) -> int | None:
    """0-based position named by 第二个 / 2号, if any."""
    m = _ORDINAL.search(text)
    if not m:
        return None
    return _ORDINALS[m.group(1) or m.group(2)]


def resolve_list_reference(u: Understanding, last_results: Sequence[str]) -> bool:
    """第二个多少钱: link the message to that product of the last list; True when it did."""
    if not last_results or u.product_link is not None:
        return False
    index = ordinal(u.text)
    if index is None or index >= len(last_results):
        return False
    pid = last_results[index]
    u.product_link = EntityLink(u.text, 0, len(u.text), "product", pid, 1.0)
    return True


_MEASURE_VALUE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z\u4e00-\u9fff]{1,3})")
_UNIT_ALIASES = {"毫升": "ml", "升": "l", "克": "g", "千克": "kg", "毫安": "mah", "瓦": "w", "厘米": "cm",
                 "英寸": "寸"}


def _measure_ok(measure, value: str) -> bool:
    unit, low, high = measure
    unit = _UNIT_ALIASES.get(unit, unit)
    for m in _MEASURE_VALUE.finditer(str(value)):
        if _UNIT_ALIASES.get(m.group(2).lower(), m.group(2).lower()).startswith(unit):
            number = float(m.group(1))
            if (low is None or number >= low) and (high is None or number <= high):
                return True
    return False


def _measured(variants, measure) -> list:
    return [v for v in variants if any(_measure_ok(measure, x) for x in v.attributes.values())]


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{3,}")
WISH_VALUE_MIN = 3  # characters a wish shares with a variant value to name it (凯美瑞 in 丰田凯美瑞)


def _wished_values(wish: str, values) -> set[str]:
    """Values holding a run of WISH_VALUE_MIN+ Chinese characters of the wish."""
    grams = {run[i:i + n] for run in _CJK_RUN.findall(wish) for n in range(WISH_VALUE_MIN, len(run) + 1)
             for i in range(len(run) - n + 1)}
    return {v for v in values if any(g in v for g in grams)} if grams else set()


def _by_wished_value(matched, wish: str):
    """适合凯美瑞的头枕: a wish naming part of some variants' values (丰田凯美瑞) keeps those variants,
    when any candidate has one; otherwise the wish only ranks."""
    if not wish:
        return matched
    kept = []
    for c, variants, labels in matched:
        hits = _wished_values(wish, {str(x) for v in variants for x in v.attributes.values()})
        named = [v for v in variants if hits & {str(x) for x in v.attributes.values()}]
        if named:
            value = next(str(x) for x in named[0].attributes.values() if str(x) in hits)
            kept.append((c, named, {**labels, f"attribute:{value}": value}))
    return kept or matched


def _best_sentence(description: str | None, wish: str) -> str | None:
    if not description:
        return None
    pieces = [p.strip() for p in _SENTENCE.split(description) if p.strip()]
    if not pieces:
        return None
    grams = {wish[i:i + 2] for i in range(len(wish) - 1)} | set(wish)
    scored = [(sum(g in p for g in grams), -n, p) for n, p in enumerate(pieces)]
    best = max(scored)
    return best[2] if best[0] > 0 else None


class SearchPolicy:
    """Answers 推荐一款200以内的连衣裙 / 有没有黑色42码的运动鞋 / 适合送长辈的."""

    def __init__(self, catalog: CandidateSource, ranker: ProductRanker | None, links: ProductLinks,
                 templates: Templates | None = None) -> None:
        self.catalog = catalog
        self.ranker = ranker
        self.links = links
        self.t = templates or Templates(SHOPPING_TEMPLATES)

    @staticmethod
    def wants(u: Understanding, discussing: str | None = None) -> bool:
        return looks_like_search(u, discussing)

    def answer(self, u: Understanding, pc: PolicyContext, reference_price: float | None = None) -> PolicyResult:
        req = parse_request(u)
        ctx = pc.context
        if req.cheaper and not req.structured and ctx.last_search:
            previous = SearchRequest.from_dict(ctx.last_search)
            req = replace(previous, cheaper=True, wish=req.wish or previous.wish)
        if req.cheaper and reference_price is not None and (req.max_price is None or req.max_price >= reference_price):
            req.max_price, req.price_label = reference_price - 0.01, f"比¥{reference_price:g}便宜"
            req.exclude = tuple(ctx.last_results[:1]) if ctx.last_product_id is None else (ctx.last_product_id,)
        if req.category is None and ctx.last_search.get("category") and (req.cheaper or not req.wish):
            req.category, req.category_label = ctx.last_search["category"], ctx.last_search.get("category_label")
        if req.category is None and u.product_link is not None and u.product_link.candidates:
            ids = [u.product_link.value, *u.product_link.candidates]
        else:
            ids = None
        found = self._find(req, ids, u.text)
        if found:
            return self._reply(pc, req, found, u.text)
        return self._relax(pc, req, ids, u.text)

    def find_for(self, u: Understanding, ids: list[str] | None = None) -> list[tuple[Candidate, list, dict]]:
        """The in-stock products (among ``ids``) satisfying every constraint of the message (nothing remembered)."""
        req = parse_request(u)
        return self._find(req, ids, u.text) if req.structured else []

    # --- finding ------------------------------------------------------------------
    def _find(self, req: SearchRequest, ids: list[str] | None, text: str) -> list[tuple[Candidate, list, dict]]:
        keys = list(req.attributes)
        matches = None
        if keys:
            # Attribute values are facets of the graph: the products holding every one, by index.
            facets = [Facet(None if k.startswith("attribute:") else k, vals) for k, vals in req.attributes.items()]
            matches = self.catalog.facet_matches(facets)
            allowed = set(matches.product_ids())
            ids = sorted(allowed) if ids is None else [i for i in ids if i in allowed]
            if not ids:
                return []
        candidates = self.catalog.candidates(category=req.category, product_ids=ids, min_price=req.min_price,
                                             max_price=req.max_price, category_word=req.category_label)
        matched = []
        for c in candidates:
            pid = c.product.product_id
            if pid in req.exclude:
                continue
            variants, labels = list(c.variants), {}
            if matches is not None:
                skus = matches.variants.get(pid, {})
                if c.variants:
                    variants = [v for v in c.variants if v.sku in skus]
                    if not variants:
                        continue
                    labels = dict(zip(keys, skus[variants[0].sku], strict=True))
                elif pid in matches.products:
                    labels = dict(zip(keys, matches.products[pid], strict=True))
                else:
                    continue
            if req.measure is not None:
                variants = _measured(variants, req.measure)
                if not variants:
                    continue
                labels = labels or {"measure": variant_label(variants[0].attributes)}
            matched.append((c, variants, labels))
        return self._rank(_by_wished_value(matched, req.wish), req, text)

    def _rank(self, matched, req: SearchRequest, text: str):
        if len(matched) <= 1:
            return matched
        if req.cheaper or (not req.wish and req.max_price is not None):
            return sorted(matched, key=lambda m: (price_range(m[0].product, m[1])[0] or 0, m[0].product.product_id))
        query = req.wish or text
        if self.ranker is not None:
            by_id = {m[0].product.product_id: m for m in matched}
            try:
                hits = self.ranker.search(query, k=len(by_id), kind="product", allowed_ids=list(by_id))
            except RetrievalError as e:
                logger.warning("product ranking unavailable, keeping graph order: %s", e)
                hits = []
            ranked = [by_id[h.id] for h in hits if h.id in by_id]
            if ranked:
                rest = [m for pid, m in by_id.items() if pid not in {h.id for h in hits}]
                return ranked + rest
        return matched

    # --- replies ---------------------------------------------------------------------
    def _reasons(self, req: SearchRequest, c: Candidate, variants, labels: dict) -> str:
        reasons = []
        if req.category_label:
            reasons.append(f"属于{req.category_label}")
        low, _ = price_range(c.product, variants)
        if req.price_label and low is not None:
            reasons.append(f"¥{low:g}，符合{req.price_label}")
        if labels:
            stock = sum(v.stock for v in variants) if variants else int(c.product.total_stock or 0)
            reasons.append(f"有{variant_label(labels)}，现货{stock}件" if stock else f"有{variant_label(labels)}")
        if req.wish:
            sentence = _best_sentence(c.product.description, req.wish)
            if sentence:
                reasons.append(sentence)
        if not reasons:
            sentence = (c.product.description or "").split("。")[0]
            reasons.append(sentence or "有现货")
        return "；".join(reasons)

    def _summary(self, req: SearchRequest) -> str:
        parts = [p for p in (req.category_label, req.price_label, req.measure_label,
                             *(vals[0] for vals in req.attributes.values()), req.wish) if p]
        return "、".join(parts) or "您的要求"

    def _reply(self, pc: PolicyContext, req: SearchRequest, found, text: str, relaxed: str | None = None) -> PolicyResult:
        top = found[:MAX_RESULTS]
        lines, cards, sources = [], [], []
        for n, (c, variants, labels) in enumerate(top, 1):
            lines.append(f"{n}. {c.product.display_name} {price_text(c.product, variants)} —— "
                         f"{self._reasons(req, c, variants, labels)}")
            cards.append(card(c.product, variants, self.links))
            sources.append(Source("product", c.product.product_id))
        ctx = pc.context
        ctx.last_results = [c.product.product_id for c, _, _ in top]
        ctx.last_search = req.to_dict()
        ctx.discussed_products = list(dict.fromkeys([*ctx.discussed_products, *ctx.last_results]))[-20:]
        if len(top) == 1:
            ctx.last_product_id = top[0][0].product.product_id
            # The variant the request named (a facet value, a value the wish names) carries to the next turn.
            ctx.last_variant_attrs = {k: v for k, v in top[0][2].items() if k != "measure"}
        key = "search_relaxed" if relaxed else "search_results"
        reply = self.t.render(key, pc.seed, n=len(top), summary=self._summary(req), relaxed=relaxed or "",
                              list="\n".join(lines))
        return PolicyResult(reply, "answer", sources, resolved=True, products=cards,
                            suggestions=[c.product.display_name for c, _, _ in top] if len(top) > 1 else None)

    def _relax(self, pc: PolicyContext, req: SearchRequest, ids, text: str) -> PolicyResult:
        """Nothing satisfies everything: drop one constraint at a time, say which one."""
        trials: list[tuple[str, SearchRequest]] = []
        if req.measure:
            trials.append((f"「{req.measure_label}」", replace(req, measure=None, measure_label=None)))
        if req.attributes:
            for key, vals in req.attributes.items():
                rest = {k: v for k, v in req.attributes.items() if k != key}
                trials.append((f"「{vals[0]}」", replace(req, attributes=rest)))
        if req.min_price is not None or req.max_price is not None:
            trials.append((f"价格（{req.price_label}）", replace(req, min_price=None, max_price=None, price_label=None)))
        if req.category:
            trials.append((f"品类「{req.category_label}」", replace(req, category=None, category_label=None)))
        for label, trial in trials:
            found = self._find(trial, ids, text)
            if not found:
                continue
            if trial.max_price is None and req.max_price is not None:
                found = sorted(found, key=lambda m: abs((price_range(m[0].product, m[1])[0] or 0) - req.max_price))
            result = self._reply(pc, trial, found, text, relaxed=label)
            result.reply = self.t.render("search_none_prefix", pc.seed, summary=self._summary(req),
                                         relaxed=label) + "\n" + result.reply
            return result
        pc.context.last_results = []
        return PolicyResult(self.t.render("search_nothing", pc.seed, summary=self._summary(req)), "answer",
                            resolved=False)
