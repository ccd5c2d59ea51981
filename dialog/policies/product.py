"""Product, attribute, stock and price questions, answered from the graph."""

from __future__ import annotations

import re

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult
from dialog.understand import Understanding
from retrieval.variant_match import mentioned_values
from schema.attribute_names import display, family, norm, ordered, same_attribute
from schema.types import ProductInfo, Source, VariantInfo

# Words that ask about an option family; the product's own attribute of that
# family (颜色, color, ...) is what gets answered.
_ASKED_ATTR = (
    (re.compile(r"颜色|色|配色"), "color"),
    (re.compile(r"尺码|码|尺寸|大小"), "size"),
    (re.compile(r"内存|存储|容量|G\b|GB", re.I), "storage"),
    (re.compile(r"规格|装|ml|毫升|克|斤", re.I), "spec"),
    (re.compile(r"车型|哪些车|什么车"), "fit"),
)
_CHEAPEST = re.compile(r"最便宜|最实惠|价格最低|最低价")
# 带卡吗 / 含杯套吗 / 送琴包吗: does a variant (a bundle) include a thing. General language only.
_INCLUDES = re.compile(r"(?:带|含|包含|配|附带|附|送|赠)(?:不(?:带|含|送|配))?(?P<word>[^\s，,。？?！!吗么嘛呢的了]{1,4}?)(?:吗|么|嘛|不|没|没有|呢|的吗|\?|？|$)")
_WITHOUT = re.compile(r"(?:不含|不带|无|没有|不送|不配)$")
_LOW_STOCK = 5
# Products of the same category looked at for one that fits a model this product does not.
MAX_SIBLINGS = 12


def asked_attribute(text: str, product: ProductInfo, variants: list[VariantInfo]) -> str | None:
    """Which attribute the shopper asks about (哪些颜色有货 → color), if any."""
    keys = _keys(product, variants)
    folded = norm(text)
    named = next((k for k in keys if norm(k) in folded), None)  # the store's own name: 口味有哪些
    if named is not None:
        return named
    for pattern, fam in _ASKED_ATTR:
        key = next((k for k in keys if family(k) == fam), None)
        if key is not None and pattern.search(text):
            return key
    return None


def _keys(product: ProductInfo, variants: list[VariantInfo]) -> list[str]:
    """The product's attribute names, in label order."""
    return ordered([k for v in variants for k in v.attributes] + list(product.options))


def _variant_label(attrs: dict[str, str]) -> str:
    return " ".join(attrs[k] for k in ordered(attrs)) or ""


def _values_with_stock(variants: list[VariantInfo], attr: str) -> list[str]:
    seen: dict[str, int] = {}
    for v in variants:
        value = v.attributes.get(attr)
        if value is not None:
            seen[value] = seen.get(value, 0) + v.stock
    return [value for value, stock in seen.items() if stock > 0]


def resolve_attributes(u: Understanding, product: ProductInfo,
                       variants: list[VariantInfo]) -> tuple[dict[str, str], dict[str, str]]:
    """Map the linked attribute values onto this product's variant properties.

    Returns (matched, unknown): ``matched`` are property -> value pairs the
    product has (using the linker's alternatives, so 红 finds 酒红色 when that is
    the product's only red); ``unknown`` are values this product does not offer.
    """
    offered: dict[str, set[str]] = {}
    for v in variants:
        for k, val in v.attributes.items():
            offered.setdefault(k, set()).add(val)
    for k, vals in product.options.items():
        offered.setdefault(k, set()).update(vals)
    matched: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for key, value in u.attributes.items():
        keys = ([k for k in offered if same_attribute(k, key)] if not key.startswith("attribute:")
                else list(offered))
        choices = (value, *u.attribute_alternatives.get(key, ()))
        hit = next(((k, c) for c in choices for k in keys if c in offered.get(k, ())), None)
        if hit is not None:
            matched[hit[0]] = hit[1]
        else:
            unknown[key.removeprefix("attribute:")] = value
    # Values the linker cannot know as words (秦plus for 比亚迪秦PLUS): named by a distinctive part.
    # Words the linker already read (the product, linked colours and options) are not read again.
    chars = list(u.text)
    for e in [u.product_link, *u.entities]:
        if e is not None and e.type in ("product", "color", "size", "attribute") and e.end <= len(chars):
            chars[e.start:e.end] = [" "] * (e.end - e.start)
    text = "".join(chars)
    unknown_keys = {o for o in offered for k in unknown if same_attribute(o, k)}
    for key, value in mentioned_values(text, offered).items():
        if key not in matched and key not in unknown_keys:
            matched[key] = value
    return matched, unknown


class ProductPolicy:
    """Answers 红色L码还有几件 / 哪些颜色有货 / 有没有XL / 多少钱 / 最便宜的那款 / 什么材质."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        # The product's own FAQ entries (``dialog.policies.product_faq.ProductFAQ``), set by the actions.
        self.faq = None
        # The cached catalogue (``TextCache``): products of the same category, set by the actions.
        self.catalog = None

    def answer(self, u: Understanding, pc: PolicyContext, product_id: str) -> PolicyResult:
        product = self.knowledge.product(product_id)
        if product is None:
            return PolicyResult(pc.say("ask_product"), "ask_product")
        variants = self.knowledge.variants(product_id)
        sources = [Source("product", product.product_id)]
        if u.intent == "price_promotion":
            return self._price(u, pc, product, variants, sources)
        # 带卡吗: does a (bundle) variant include a thing, whatever the classifier calls the question.
        included = None if u.attributes else self._includes(u, pc, product, variants, sources)
        if included is not None:
            return included
        # "有荧光绿的吗" names a variant: whatever the intent, the answer is its availability.
        if u.intent in ("stock_check", "size_advice") or u.attributes:
            return self._stock(u, pc, product, variants, sources)
        if (variants and asked_attribute(u.text, product, variants) is None
                and resolve_attributes(u, product, variants)[0]):
            # 凯美瑞的用着合适吗: a value of its own named by a part of it, and no other fact asked.
            return self._stock(u, pc, product, variants, sources)
        return self._attribute(u, pc, product, variants, sources)

    # --- stock ------------------------------------------------------------------
    def _stock(self, u, pc, product: ProductInfo, variants, sources) -> PolicyResult:
        name = product.display_name
        if not variants:
            options = "，".join(f"{display(k)} {'/'.join(v)}" for k, v in product.options.items())
            if product.total_stock:
                return PolicyResult(pc.say("stock_product", product=name, stock=product.total_stock,
                                           options=options or "规格见商品页"), "answer", sources, resolved=True)
            return PolicyResult(pc.say("stock_values_none", product=name, attr="规格"), "answer", sources,
                                resolved=True)
        wanted, unknown = resolve_attributes(u, product, variants)
        if unknown and not wanted:
            key, value = next(iter(unknown.items()))
            keys = _keys(product, variants)
            # An option word that is neither a colour nor a size (a fit, a model) is compared
            # with the product's own options of that kind, not with its colours.
            other_kind = ([k for k in keys if family(k) not in ("color", "size")]
                          if f"attribute:{key}" in u.attributes else [])
            attr = (next((k for k in keys if same_attribute(k, key)), None)
                    or asked_attribute(u.text, product, variants) or next(iter(other_kind), None)
                    or (keys[0] if keys else key))
            values = _values_with_stock(variants, attr)
            reply = pc.say("variant_not_offered", product=name, variant=value,
                           attr=display(attr) if attr in keys else "规格", values="、".join(values) or "暂无")
            if other_kind and attr in other_kind:
                reply += self._fits_instead(pc, product, attr, value, sources)
            return PolicyResult(reply, "answer", sources, resolved=True)
        if wanted:
            matching = [v for v in variants if all(v.attributes.get(k) == val for k, val in wanted.items())]
            label = _variant_label(wanted)
            if not matching:
                values = _values_with_stock(variants, next(iter(wanted)))
                alternatives = (pc.say("stock_alternatives", list="、".join(values)) if values
                                else pc.say("stock_no_alternatives"))
                return PolicyResult(pc.say("stock_sold_out", product=name, variant=label,
                                           alternatives=alternatives), "answer", sources, resolved=True)
            sources += [Source("variant", v.sku) for v in matching]
            in_stock = [v for v in matching if v.stock > 0]
            missing = [k for k in _keys(product, matching) if k not in wanted]
            if len(matching) == 1 or not missing:
                total = sum(v.stock for v in matching)
                if total > 0:
                    key = "stock_variant_low" if total <= _LOW_STOCK else "stock_variant"
                    return PolicyResult(pc.say(key, product=name, variant=label, stock=total), "answer",
                                        sources, resolved=True)
                return PolicyResult(self._sold_out(pc, name, label, wanted, variants), "answer", sources,
                                    resolved=True)
            # Partly specified (only a colour): list what the other attribute has in stock.
            other = missing[0]
            if not in_stock:
                return PolicyResult(self._sold_out(pc, name, label, wanted, variants), "answer", sources,
                                    resolved=True)
            detail = "、".join(f"{v.attributes[other]}（{v.stock}件）" for v in in_stock if other in v.attributes)
            return PolicyResult(pc.say("stock_values", product=f"{name} {label}", attr=display(other),
                                       values=detail), "answer", sources, resolved=True)
        attr = asked_attribute(u.text, product, variants) or next(iter(_keys(product, variants)), None)
        if attr is None:
            total = sum(v.stock for v in variants)
            return PolicyResult(pc.say("stock_product_total", product=name, stock=total, values="全部规格"),
                                "answer", sources, resolved=True)
        values = _values_with_stock(variants, attr)
        sources += [Source("variant", v.sku) for v in variants if v.stock > 0]
        if not values:
            return PolicyResult(pc.say("stock_values_none", product=name, attr=display(attr)),
                                "answer", sources, resolved=True)
        # A stock question gets the count of each value (墨绿（14件）), as for a partly named variant.
        counts = {value: sum(v.stock for v in variants if v.attributes.get(attr) == value) for value in values}
        detail = "、".join(f"{value}（{counts[value]}件）" for value in values) if u.intent == "stock_check" \
            else "、".join(values)
        return PolicyResult(pc.say("stock_values", product=name, attr=display(attr), values=detail),
                            "answer", sources, resolved=True)

    def _fits_instead(self, pc, product: ProductInfo, attr: str, value: str, sources) -> str:
        """A fit (车型) this product lacks: the in-stock product of the same category that offers
        it, or one with no such option at all (a universal fit), as a sentence; "" when none."""
        if self.catalog is None or not product.category:
            return ""
        siblings = [p for pid, p in sorted(self.catalog.products.items())
                    if pid != product.product_id and p.category == product.category][:MAX_SIBLINGS]
        universal = None
        for p in siblings:
            variants = [v for v in self.knowledge.variants(p.product_id) if v.stock > 0]
            keys = [k for v in variants for k in v.attributes] + list(p.options)
            same = list(dict.fromkeys(k for k in keys if same_attribute(k, attr)))
            if not variants and not p.total_stock:
                continue  # nothing of it in stock
            if not same:
                if family(attr) == "fit":  # no fit option: made to fit any model
                    universal = universal or p
                continue
            offered = {k: sorted({v.attributes[k] for v in variants if k in v.attributes}) for k in same}
            if any(norm(value) in norm(x) or norm(x) in norm(value) for xs in offered.values() for x in xs) \
                    or mentioned_values(value, offered):
                sources.append(Source("product", p.product_id))
                return pc.say("fit_other_product", product=p.display_name, variant=value)
        if universal is None:
            return ""
        sources.append(Source("product", universal.product_id))
        return pc.say("fit_universal_product", product=universal.display_name, attr=display(attr))

    def _sold_out(self, pc, name, label, wanted, variants) -> str:
        """Offer in-stock alternatives by name: same colour in other sizes first, then anything."""
        in_stock = [v for v in variants if v.stock > 0]
        first_key = next(iter(wanted))
        close = [v for v in in_stock if v.attributes.get(first_key) == wanted[first_key]] or in_stock
        if close:
            # Names only: a count next to another variant reads as the answer to the question asked.
            listed = "、".join(dict.fromkeys(_variant_label(v.attributes) for v in close[:6]))
            alternatives = pc.say("stock_alternatives", list=listed)
        else:
            alternatives = pc.say("stock_no_alternatives")
        return pc.say("stock_sold_out", product=name, variant=label, alternatives=alternatives)

    # --- price -------------------------------------------------------------------
    def _price(self, u, pc, product: ProductInfo, variants, sources) -> PolicyResult:
        name = product.display_name
        wanted, _ = resolve_attributes(u, product, variants)
        matching = [v for v in variants if all(v.attributes.get(k) == val for k, val in wanted.items())]
        prices = sorted({v.price for v in matching if v.price is not None})
        if wanted and len(prices) == 1:
            sources += [Source("variant", v.sku) for v in matching]
            # A value the name already says (…吉他 40寸) is not said twice.
            label = _variant_label({k: v for k, v in wanted.items() if norm(v) not in norm(name)})
            return PolicyResult(pc.say("price", product=name, variant=" " + label if label else "",
                                       price=f"{prices[0]:g}"), "answer", sources, resolved=True)
        if len(prices) > 1:
            detail = "、".join(f"{_variant_label(v.attributes)} ¥{v.price:g}" for v in matching[:6])
            sources += [Source("variant", v.sku) for v in matching[:6]]
            return PolicyResult(pc.say("price_range", product=name, low=f"{prices[0]:g}", high=f"{prices[-1]:g}",
                                       detail=detail), "answer", sources, resolved=True)
        price = prices[0] if prices else product.price
        if price is None:
            return PolicyResult(pc.say("fallback"), "fallback", fallback=True)
        return PolicyResult(pc.say("price", product=name, variant="", price=f"{price:g}"), "answer", sources,
                            resolved=True)

    # --- attributes ----------------------------------------------------------------
    def _attribute(self, u, pc, product: ProductInfo, variants, sources) -> PolicyResult:
        name = product.display_name
        attr = asked_attribute(u.text, product, variants)
        if attr:
            values = sorted({v.attributes[attr] for v in variants if attr in v.attributes}) or list(
                product.options.get(attr, ()))
            return PolicyResult(pc.say("attribute", product=name, attr=display(attr),
                                       value="、".join(values)), "answer", sources, resolved=True)
        own = self.faq.about(u, pc, [product.product_id]) if self.faq is not None else None
        if own is not None:  # 熟茶能泡几泡: the FAQ about this product, not its card
            return own[1]
        price = f"{product.price:g}" if product.price is not None else "见商品页"
        return PolicyResult(pc.say("product_info", product=name, brand=product.brand or "本店",
                                   category=(product.category or "").replace("/", " > "), price=price,
                                   description=product.description or ""), "answer", sources, resolved=True)

    def _includes(self, u, pc, product: ProductInfo, variants, sources) -> PolicyResult | None:
        """带卡吗: the variants whose value names the thing (not after 不含/无), each with its price."""
        m = _INCLUDES.search(u.text)
        if m is None or not variants:
            return None
        word, name = norm(m.group("word")), product.display_name
        for attr in _keys(product, variants):
            prices: dict[str, float | None] = {}
            for v in variants:
                value = v.attributes.get(attr)
                if value is not None and (value not in prices or (v.price or 0) < (prices[value] or 0)):
                    prices[value] = v.price if v.price is not None else product.price
            named = {value for value in prices if word in norm(value)}
            if not named:
                continue
            with_it = [value for value in prices if value in named
                       and not _WITHOUT.search(norm(value)[:norm(value).index(word)])]

            others = [value for value in prices if value not in with_it]
            sources += [Source("variant", v.sku) for v in variants if v.attributes.get(attr) in with_it]
            if not with_it:
                return PolicyResult(pc.say("attribute_without", product=name, attr=display(attr),
                                           word=m.group("word"), values=_priced(others, prices)),
                                    "answer", sources, resolved=True)
            rest = pc.say("attribute_others", values=_priced(others, prices)) if others else ""
            return PolicyResult(pc.say("attribute_includes", product=name, attr=display(attr),
                                       word=m.group("word"), values=_priced(with_it, prices), others=rest),
                                "answer", sources, resolved=True)
        return None

    def cheapest(self, pc: PolicyContext, knowledge, category: str | None,
                 product_ids: list[str] | None) -> PolicyResult | None:
        """最便宜的那款: one indexed query over a category or a candidate list."""
        found = knowledge.cheapest(category_prefix=category, product_ids=product_ids)
        if found is None:
            return None
        scope = category.split("/")[-1] if category else "这几款"
        return PolicyResult(pc.say("cheapest", scope=scope, product=found.display_name,
                                   price=f"{found.price:g}"), "answer",
                            [Source("product", found.product_id)], resolved=True)


def _priced(values: list[str], prices: dict[str, float | None]) -> str:
    return "、".join(f"{value} ¥{prices[value]:g}" if prices[value] is not None else value for value in values)


def wants_cheapest(text: str) -> bool:
    return bool(_CHEAPEST.search(text))
