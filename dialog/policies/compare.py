"""Comparison of two or three products: price, brand, stock and every attribute
side by side, the rows that differ first (A和B有什么区别 / 哪个更适合...)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult
from dialog.policies.catalog_view import ProductLinks, card, in_stock, price_text
from dialog.policies.search import ProductRanker, ordinal
from dialog.templates import Templates
from dialog.understand import Understanding
from retrieval.errors import RetrievalError
from schema.types import ProductInfo, Source, VariantInfo

COMPARE = re.compile(r"区别|不同|差别|差异|对比|比较|比一比|哪个(?:更|比较)?(?:好|适合|划算|值)|选哪(?:个|款)|哪款(?:更|比较)?(?:好|适合)")
_ALL_OF_LIST = re.compile(r"这(?:几|两|三)款|这(?:几|两|三)个|它们|前(?:两|三)个")
_SUITS = re.compile(r"(?:更)?适合(.{1,12}?)(?:[？?。！!]|$)")
_ORDINALS = re.compile(r"第\s*([1-3一二三])|([1-3一二三])号")


def products_to_compare(u: Understanding, last_results: Sequence[str]) -> list[str]:
    """Ids named in the message (links, 第一个和第三个), else the last list when it says 这几款."""
    ids: list[str] = []
    for e in u.entities:
        if e.type == "product":
            ids.append(e.value)
    for m in _ORDINALS.finditer(u.text):
        index = ordinal(m.group(0))
        if index is not None and index < len(last_results):
            ids.append(last_results[index])
    ids = list(dict.fromkeys(ids))
    if len(ids) < 2 and (_ALL_OF_LIST.search(u.text) or not ids) and len(last_results) >= 2:
        ids = list(dict.fromkeys([*ids, *last_results]))
    return ids[:3]


def _values(variants: Sequence[VariantInfo], product: ProductInfo) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for v in variants:
        if v.stock <= 0:
            continue
        for k, val in v.attributes.items():
            out.setdefault(k, [])
            if str(val) not in out[k]:
                out[k].append(str(val))
    for k, vals in product.options.items():
        out.setdefault(k, list(vals))
    return {k: "/".join(v) for k, v in out.items()}


_ROW_NAMES = {"color": "颜色", "size": "尺码", "storage": "存储容量", "spec": "规格", "version": "版本"}


class ComparePolicy:
    def __init__(self, knowledge: Knowledge, ranker: ProductRanker | None, links: ProductLinks,
                 templates: Templates) -> None:
        self.knowledge = knowledge
        self.ranker = ranker
        self.links = links
        self.t = templates

    @staticmethod
    def wants(u: Understanding) -> bool:
        return bool(COMPARE.search(u.text))

    def answer(self, u: Understanding, pc: PolicyContext, ids: list[str]) -> PolicyResult:
        if len(ids) < 2:
            return PolicyResult(self.t.render("compare_need_two", pc.seed), "answer")
        products = self.knowledge.products(ids)
        rows: list[tuple[str, list[str]]] = []
        cards = []
        facts = []
        for p in products:
            variants = self.knowledge.variants(p.product_id)
            facts.append((p, variants))
            cards.append(card(p, variants, self.links))
        rows.append(("价格", [price_text(p, v) for p, v in facts]))
        rows.append(("品牌", [p.brand or "—" for p, _ in facts]))
        rows.append(("品类", [(p.category or "—").split("/")[-1] for p, _ in facts]))
        rows.append(("现货", [f"{in_stock(p, v)}件" for p, v in facts]))
        per_product = [_values(v, p) for p, v in facts]
        for key in dict.fromkeys(k for vals in per_product for k in vals):
            rows.append((_ROW_NAMES.get(key, key), [vals.get(key, "—") for vals in per_product]))
        differ = [r for r in rows if len(set(r[1])) > 1]
        same = [r for r in rows if len(set(r[1])) == 1]
        names = [p.display_name for p, _ in facts]
        lines = [f"· {label}：" + " | ".join(f"{n}：{v}" for n, v in zip(names, vals, strict=True))
                 for label, vals in differ]
        if same:
            lines.append("· 相同：" + "；".join(f"{label} {vals[0]}" for label, vals in same))
        advice = self._advice(u, facts)
        reply = self.t.render("compare_intro", pc.seed, names=" vs ".join(names), rows="\n".join(lines),
                              advice=advice)
        pc.context.last_results = [p.product_id for p, _ in facts]
        pc.context.discussed_products = list(dict.fromkeys([*pc.context.discussed_products,
                                                            *pc.context.last_results]))[-20:]
        return PolicyResult(reply, "answer", [Source("product", p.product_id) for p, _ in facts], resolved=True,
                            products=cards)

    def _advice(self, u: Understanding, facts) -> str:
        m = _SUITS.search(u.text)
        if m and self.ranker is not None:
            wish = m.group(1)
            try:
                hits = self.ranker.search(wish, k=len(facts), kind="product",
                                          allowed_ids=[p.product_id for p, _ in facts])
            except RetrievalError:
                hits = []
            if hits:
                best = next(p for p, _ in facts if p.product_id == hits[0].id)
                return f"按「{wish}」来看，商品描述更贴近的是「{best.display_name}」。"
        cheap = min(facts, key=lambda f: (f[0].price if f[0].price is not None else float("inf")))
        return f"预算优先的话，「{cheap[0].display_name}」更实惠。"
