"""Size and fit: the size the store's own table recommends for the shopper's
height, weight, age or foot length (or usual size plus the fit note), with what
the table says; without a table, say so and list the sizes on sale."""

from __future__ import annotations

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, Searcher, TextCache
from dialog.sizing import (
    SizeRow,
    asks_for_size,
    offers,
    parse_fit,
    parse_measures,
    parse_table,
    recommend,
    shifted_size,
)
from dialog.understand import Understanding
from schema.attribute_names import family
from schema.types import Source

_MEASURE_LABEL = {"height": ("身高", "cm"), "weight": ("体重", "kg"), "age": ("", "岁"), "foot": ("脚长", "cm")}
_FAQ_K = 3
# Products of the kind named searched for the one that comes in the recommended size.
MAX_SCOPE = 30


def _measure_text(measures: dict) -> str:
    parts = []
    for dim, (label, unit) in _MEASURE_LABEL.items():
        if isinstance(measures.get(dim), float):
            parts.append(f"{label}{measures[dim]:g}{unit}")
    return "、".join(parts)


class SizePolicy:
    def __init__(self, knowledge: Knowledge, searcher: Searcher, cache: TextCache) -> None:
        self.knowledge = knowledge
        self.searcher = searcher
        self.cache = cache

    def _texts(self, u: Understanding, product_id: str | None) -> list[tuple[Source, str, str]]:
        """(source, label for the reply, text) in the order they are trusted: the product's own first."""
        out: list[tuple[Source, str, str]] = []
        if product_id:
            product = self.knowledge.product(product_id)
            if product is not None:
                own = [product.description or ""]
                own += [" ".join(vals) for vals in product.options.values()]
                own += [" ".join(v.attributes.values()) for v in self.knowledge.variants(product_id)]
                out.append((Source("product", product_id), "商品详情", "；".join(t for t in own if t)))
        # The product's own FAQs (about it) come before those the search finds for the words.
        faqs = [f for f in self.cache.faq.values() if product_id and f.about_product == product_id]
        faqs += [self.cache.faq[h.id] for h in self.searcher.search(u.text, k=_FAQ_K) if h.id in self.cache.faq]
        for faq in dict.fromkeys(faqs):
            out.append((Source("faq", faq.faq_id), f"「{faq.question}」", faq.answer))
        return out

    def _sizes(self, product_id: str) -> list[str]:
        product = self.knowledge.product(product_id)
        values: dict[str, None] = {}
        for v in self.knowledge.variants(product_id):
            for k, val in v.attributes.items():
                if family(k) == "size" and v.stock > 0:
                    values[val] = None
        if product is not None:
            for k, vals in product.options.items():
                if family(k) == "size":
                    values.update(dict.fromkeys(vals))
        return list(values)

    def _carry_the_one_product(self, u: Understanding, pc: PolicyContext, size: str) -> None:
        """Size advice for a kind of product (吉他, no product chosen): when one product of
        the kind named comes in the size recommended, the conversation goes on about it
        (有什么颜色 / 怎么下单 next), with that size remembered."""
        link = u.product_link
        scope = [link.value, *link.candidates] if link is not None else []
        categories = [e.value for e in u.entities if e.type == "category"]
        brands = {e.value for e in u.entities if e.type == "brand"}
        if not scope and (categories or brands):
            scope = [pid for pid, p in self.cache.products.items()
                     if (not categories or any((p.category or "").startswith(c) for c in categories))
                     and (not brands or p.brand in brands)]
        if not scope or len(scope) > MAX_SCOPE:
            return
        found: list[tuple[str, str, str]] = []
        for pid in dict.fromkeys(scope):
            for key, value in self._size_values(pid):
                if offers([value], size):
                    found.append((pid, key, value))
                    break
        if len(found) == 1:
            pid, key, value = found[0]
            ctx = pc.context
            ctx.last_product_id = pid
            ctx.last_variant_attrs = {key: value}

    def _size_values(self, product_id: str) -> list[tuple[str, str]]:
        out: dict[tuple[str, str], None] = {}
        for v in self.knowledge.variants(product_id):
            for k, val in v.attributes.items():
                if family(k) == "size":
                    out[(k, val)] = None
        return list(out)

    def answer(self, u: Understanding, pc: PolicyContext, product_id: str | None) -> PolicyResult | None:
        """Recommend from a table; None (decline) when there is neither a product nor a table."""
        measures = parse_measures(u.text)
        if not measures and not asks_for_size(u.text):
            return None  # names a size (26寸的呢) rather than asking which one: the product route answers
        texts = self._texts(u, product_id)
        own_sizes = self._sizes(product_id) if product_id else []
        name = None
        if product_id:
            info = self.knowledge.product(product_id)
            name = info.display_name if info else product_id
        usual = measures.get("usual")
        if isinstance(usual, str):
            for source, label, text in texts:
                note = parse_fit(text)
                if note is not None:
                    size = shifted_size(usual, note, self._sizes(product_id) if product_id else [])
                    if size:
                        return PolicyResult(pc.say("size_fit", source=label, note=note.text, usual=usual, size=size),
                                            "answer", [source], resolved=True)
        first_table: tuple[Source, str, list[SizeRow]] | None = None
        for source, label, text in texts:
            rows = parse_table(text)
            if not rows:
                continue
            first_table = first_table or (source, label, rows)
            found = recommend(rows, measures)
            if found is not None and product_id and own_sizes and not offers(own_sizes, found[0]):
                continue  # another product's table: a size the product in context does not come in
            if found is not None:
                size, used = found
                if not product_id:
                    self._carry_the_one_product(u, pc, size)
                quoted = "；".join(dict.fromkeys(r.text for r in used))
                return PolicyResult(pc.say("size_recommend", source=label, rows=quoted,
                                           measure=_measure_text(measures), size=size), "answer", [source],
                                    resolved=True)
        if first_table is not None and not any(isinstance(v, float) for v in measures.values()):
            source, label, rows = first_table
            listed = "；".join(dict.fromkeys(r.text for r in rows))
            return PolicyResult(pc.say("size_table", source=label, rows=listed), "answer", [source], resolved=True)
        if product_id:
            sizes = self._sizes(product_id)
            return PolicyResult(pc.say("size_no_table", product=name, sizes="、".join(sizes) or "见商品页"),
                                "answer", [Source("product", product_id)], resolved=True)
        return None
