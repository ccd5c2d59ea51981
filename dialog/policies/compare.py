"""Comparison of two or three products: price, brand, stock and every attribute
side by side, the rows that differ first (A和B有什么区别 / 哪个更适合...).

A comparison with a product named by a fragment (跟大号的比 高多少, resolved in
``dialog.resolve``) puts the measurement asked first: both products' values as
they state them and the difference when both are in the same unit; a product
that does not state it is said not to. A fragment naming a variant of the
product discussed compares that product's variants (price, stock)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult
from dialog.policies.catalog_view import ProductLinks, card, in_stock, price_text
from dialog.policies.search import ProductRanker, ordinal
from dialog.sibling_compare import CompareForms, Reading, amount_text
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
        self.forms = CompareForms.load()

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
        if u.compare_measure is not None and len(facts) == 2:
            reply = self._measure_line(u, pc, facts) + "\n" + reply
        pc.context.last_results = [p.product_id for p, _ in facts]
        pc.context.discussed_products = list(dict.fromkeys([*pc.context.discussed_products,
                                                            *pc.context.last_results]))[-20:]
        return PolicyResult(reply, "answer", [Source("product", p.product_id) for p, _ in facts], resolved=True,
                            products=cards)

    def _measure_line(self, u: Understanding, pc: PolicyContext, facts) -> str:
        """杯身高：「A」18cm，「B」25cm，「A」比大号矮7cm。 Each value as the product states it."""
        measure = u.compare_measure
        (a, av), (b, bv) = facts
        ra, rb = self.forms.read(measure, a, av), self.forms.read(measure, b, bv)
        slots = {"label": measure.label, "a": a.display_name, "b": b.display_name}
        if ra is None and rb is None:
            return self.t.render("compare_measure_none", pc.seed, **slots)
        if ra is None or rb is None:
            has, lacks = (a, b) if ra is not None else (b, a)
            value = ra or rb
            return self.t.render("compare_measure_lacks", pc.seed, label=measure.label, has=has.display_name,
                                 lacks=lacks.display_name, value=value.text)
        if _comparable(ra, rb):
            diff = ra.number - rb.number
            if abs(diff) < 1e-9:
                return self.t.render("compare_measure_same", pc.seed, va=ra.text, **slots)
            word = measure.more if diff > 0 else measure.less
            return self.t.render("compare_measure_diff", pc.seed, va=ra.text, vb=rb.text,
                                 fragment=u.compare_fragment or f"「{b.display_name}」", word=word,
                                 diff=f"{amount_text(abs(diff))}{ra.unit}", **slots)
        return self.t.render("compare_measure_both", pc.seed, va=ra.text, vb=rb.text, **slots)

    def variants(self, u: Understanding, pc: PolicyContext, product_id: str, value: str) -> PolicyResult:
        """跟大号的比哪个划算 when the product itself comes in 大号: its variants side by side."""
        product = self.knowledge.product(product_id)
        variants = self.knowledge.variants(product_id)
        if product is None or not variants:
            return self.answer(u, pc, [product_id])  # nothing to set side by side: asks for two
        named = [v for v in variants if value in v.attributes.values()]
        others = [v for v in variants if v not in named]
        remembered = set(pc.context.last_variant_attrs.values())
        kept = [v for v in others if remembered & set(v.attributes.values())] or others
        rows = [f"· {'/'.join(v.attributes.values()) or v.sku}：{_variant_price(product, v)}，现货{max(v.stock, 0)}件"
                for v in [*named, *kept][:6]]
        priced = [v for v in [*named, *kept] if (v.price if v.price is not None else product.price) is not None]
        advice = ""
        if priced:
            cheap = min(priced, key=lambda v: v.price if v.price is not None else product.price)
            advice = f"预算优先的话，{'/'.join(cheap.attributes.values()) or cheap.sku}更实惠。"
        reply = self.t.render("compare_variants", pc.seed, product=product.display_name,
                              fragment=u.compare_fragment or value, rows="\n".join(rows), advice=advice)
        pc.context.last_product_id = product_id
        return PolicyResult(reply, "answer", [Source("product", product_id),
                                              *(Source("variant", v.sku) for v in [*named, *kept][:6])],
                            resolved=True, products=[card(product, variants, self.links)])

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


def _comparable(a: Reading, b: Reading) -> bool:
    return a.number is not None and b.number is not None and a.unit == b.unit


def _variant_price(product: ProductInfo, v: VariantInfo) -> str:
    price = v.price if v.price is not None else product.price
    return f"¥{price:g}" if price is not None else "价格见商品页"
