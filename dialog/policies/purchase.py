"""Help to buy the product under discussion: 怎么下单 / 有优惠吗 / 能便宜点吗 /
包邮吗 / 现在有什么活动 / 双11还有吗.

Facts come from the graph (price, stock, options) and from the clauses in force
for the product (promotion tiers, stacking, exclusions, shipping fee, cut-off
time); the reply carries ``actions`` (open product, add to cart) built from the
product URL template.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, TextCache
from dialog.policies.catalog_view import ProductLinks, in_stock, price_range, price_text, variant_label
from dialog.policies.promotion import Promotion, exclusion_rule, named_in, promotions, stacking_rule
from dialog.policies.variant_choice import chosen_variants
from dialog.templates import Templates
from dialog.understand import Understanding
from schema.types import ClauseInfo, ProductInfo, Source, VariantInfo

HOW_TO_BUY = re.compile(r"怎么(?:下单|买|购买|拍|付款)|如何(?:下单|购买)|在哪(?:里)?(?:下单|买|拍)|想(?:下单|买这|要这)|"
                        r"加(?:入)?购物车|购买链接|链接发我|立即购买|拍下(?!.{0,4}(?:发|到|了))")
PROMO = re.compile(r"优惠|活动|满减|满\d+减\d+|打折|折扣|能便宜|便宜(?:一)?点(?:吗|吧|呗)|少点|减多少|能减|券|促销|划算|"
                   r"到手价|最低多少|双\d+|618|年货节")
FREE_SHIPPING = re.compile(r"包邮|运费|邮费|几天(?:能)?到|什么时候发|多久发|今天(?:能)?发|发货")
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:块钱|块|元)")
_QTY = re.compile(r"(\d+|[两二三四五六七八九十])\s*(?:件|个|双|条|台|盒|瓶|套|只|支|包|袋|份)")
_QTY_WORDS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_NUM = r"(\d+(?:\.\d+)?)"
_FREE_OVER = re.compile(r"满\s*" + _NUM + r"\s*元?\s*包邮")
_FEE_UNDER = re.compile(r"(?:不满|未满)\s*" + _NUM + r"\s*元?\s*(?:的订单)?\s*(?:收取|收|需付|加收)?\s*运费\s*" + _NUM)
_ALL_FREE = re.compile(r"全场包邮|全店包邮|一律包邮|均包邮")
_CUTOFF = re.compile(r"(\d{1,2})\s*[:：点]\s*(\d{2})?\s*(?:前|之前|以前)\s*(?:付款|下单|支付)[^。；]*?(?:当天|当日)\s*(?:发|出库)")
_WITHIN = re.compile(r"付款后\s*(\d+)\s*小时内\s*发")


def quantity(text: str) -> int:
    m = _QTY.search(text)
    if not m:
        return 1
    raw = m.group(1)
    return int(raw) if raw.isdigit() else _QTY_WORDS.get(raw, 1)


@dataclass(frozen=True)
class Shipping:
    free_over: float | None = None
    fee: float | None = None
    all_free: bool = False
    cutoff: time | None = None
    within_hours: int | None = None
    clause_ids: tuple[str, ...] = ()


def shipping_terms(clauses: Sequence[ClauseInfo]) -> Shipping:
    """Fee rule and dispatch cut-off stated by the clauses in force (first one stated wins)."""
    free_over = fee = None
    all_free = False
    cutoff = None
    within = None
    used: list[str] = []
    for c in clauses:
        text = c.text
        hit = False
        if free_over is None and (m := _FREE_OVER.search(text)):
            free_over, hit = float(m.group(1)), True
        if fee is None and (m := _FEE_UNDER.search(text)):
            fee, hit = float(m.group(2)), True
            free_over = free_over if free_over is not None else float(m.group(1))
        if not all_free and _ALL_FREE.search(text):
            all_free = hit = True
        if cutoff is None and (m := _CUTOFF.search(text)):
            cutoff, hit = time(int(m.group(1)) % 24, int(m.group(2) or 0)), True
        if within is None and (m := _WITHIN.search(text)):
            within, hit = int(m.group(1)), True
        if hit:
            used.append(c.clause_id)
    return Shipping(free_over, fee, all_free, cutoff, within, tuple(used))


class PurchasePolicy:
    """Prices after promotions, shipping and the buttons to buy."""

    def __init__(self, knowledge: Knowledge, cache: TextCache, links: ProductLinks, templates: Templates) -> None:
        self.knowledge = knowledge
        self.cache = cache
        self.links = links
        self.t = templates

    # --- what applies ---------------------------------------------------------------
    def _clauses(self, product_id: str | None, now: datetime) -> list[ClauseInfo]:
        if product_id is None:
            return [c for c in self.cache.clauses.values() if c.in_force(now)]
        return self.knowledge.clauses_in_force(product_id=product_id, at=now)

    def _ended(self, text: str, now: datetime) -> list[Promotion]:
        """Promotions whose window is over, named by the shopper."""
        past = [c for c in self.cache.clauses.values() if c.effective_to is not None and c.effective_to <= now]
        return [p for p in promotions(past) if named_in(text, p)]

    def _ended_note(self, text: str, now: datetime) -> str:
        notes = [self.t.render("promo_ended", "", title=p.title, end=_day(p.effective_to))
                 for p in self._ended(text, now)]
        return ("；" + "；".join(notes)) if notes else ""

    # --- answers ------------------------------------------------------------------------
    def which_product(self, u: Understanding, pc: PolicyContext, offered: Sequence[str]) -> PolicyResult:
        """怎么下单 with no product discussed: how buying works, and which product (from the list shown)."""
        products = [p for p in (self.knowledge.product(pid) for pid in dict.fromkeys(offered)) if p is not None][:3]
        if not products:
            return PolicyResult(self.t.render("purchase_which_none", pc.seed), "answer", resolved=True)
        names = [p.display_name for p in products]
        options = "\n" + "\n".join(f"{n}. {name}" for n, name in enumerate(names, 1)) + "\n回复「第几个怎么下单」就发您下单链接。"
        pc.context.last_results = [p.product_id for p in products]
        return PolicyResult(self.t.render("purchase_which", pc.seed, options=options), "answer",
                            [Source("product", p.product_id) for p in products], suggestions=names)

    def list_promotions(self, u: Understanding, pc: PolicyContext) -> PolicyResult:
        """现在有什么活动: every promotion in force, with its tiers and dates."""
        promos = promotions(self._clauses(None, pc.now))
        ended = self._ended_note(u.text, pc.now)
        if not promos:
            return PolicyResult(self.t.render("promo_list_none", pc.seed, ended=ended), "answer",
                                [Source("policy", p.policy_id) for p in self._ended(u.text, pc.now)],
                                resolved=True)
        lines = []
        for p in promos:
            until = f"（至{_day(p.effective_to)}）" if p.effective_to else ""
            rules = "；".join(stacking_rule(p) + exclusion_rule(p))
            lines.append(f"· {p.title}{until}：{' / '.join(t.label for t in p.tiers)}" + (f"；{rules}" if rules else ""))
        reply = self.t.render("promo_list", pc.seed, list="\n".join(lines))
        amount = _AMOUNT.search(u.text)
        if amount:  # 凑够500块能减多少: the best tier on that amount
            value = float(amount.group(1))
            promo, tier, off = max(((p, *p.best(value)) for p in promos), key=lambda s: s[2])
            if tier is not None:
                reply += f"\n¥{value:g} 按{tier.label}计算，可减 ¥{off:g}，实付 ¥{value - off:g}。"
            elif (nxt := promo.next_tier(value)) is not None:
                reply += f"\n¥{value:g} 还不满 {nxt.label}，再凑 ¥{nxt.threshold - value:g} 就能减。"
        if ended:
            reply += "\n" + ended.lstrip("；") + "。"
        return PolicyResult(reply, "answer", [Source("policy", p.policy_id) for p in promos], resolved=True)

    def promotion(self, u: Understanding, pc: PolicyContext, product_id: str) -> PolicyResult:
        """有优惠吗 / 能便宜点吗 for one product: the best tier in force and the price after it."""
        product, variants = self._product(product_id, u)
        if product is None:
            return self.list_promotions(u, pc)
        qty = quantity(u.text)
        unit, _ = price_range(product, variants)
        if unit is None:
            return self.list_promotions(u, pc)
        clauses = self._clauses(product_id, pc.now)
        promos = promotions(clauses)
        sources = [Source("product", product_id)]
        ended = self._ended_note(u.text, pc.now)
        price = f"{unit:g}" + (f" × {qty} = ¥{unit * qty:g}" if qty > 1 else "")
        if not promos:
            return PolicyResult(self.t.render("promo_none_for_product", pc.seed, product=product.display_name,
                                              price=price, ended=ended), "answer", sources, resolved=True,
                                actions=self.links.actions(product, _sku(variants)))
        amount = unit * qty
        scored = [(p, *p.best(amount)) for p in promos]
        promo, tier, off = max(scored, key=lambda s: s[2])
        tiers = "；".join(f"「{p.title}」{' / '.join(t.label for t in p.tiers)}" for p in promos)
        tiers = f"正在进行：{tiers}。"
        if tier is not None:
            outcome = (f"{'买' + str(qty) + '件' if qty > 1 else ''}按{tier.label}计算，"
                       f"¥{amount:g} - ¥{off:g} = 到手 ¥{amount - off:g}。")
            sources.append(Source("clause", tier.clause_id))
        else:
            nxt = promo.next_tier(amount)
            gap = (nxt.threshold - amount) if nxt else 0
            outcome = (f"¥{amount:g} 还不满 {nxt.label} 的门槛，再凑 ¥{gap:g} 就能减 ¥{nxt.discount(nxt.threshold):g}。"
                       if nxt else "")
        stacking = "；".join(stacking_rule(promo))
        exclusions = "；".join(exclusion_rule(promo))
        sources += [Source("policy", p.policy_id) for p in promos]
        reply = self.t.render("promo_for_product", pc.seed, product=product.display_name, price=price,
                              tiers=tiers, outcome=outcome,
                              stacking=f"叠加规则：{stacking}。" if stacking else "",
                              exclusions=f"注意：{exclusions}。" if exclusions else "")
        if ended:
            reply += ended.lstrip("；") + "。"
        return PolicyResult(reply, "answer", sources, resolved=True,
                            actions=self.links.actions(product, _sku(variants)))

    def shipping(self, u: Understanding, pc: PolicyContext, product_id: str) -> PolicyResult:
        """包邮吗 / 今天能发吗: fee for this order's amount and when it leaves if paid now."""
        product, variants = self._product(product_id, u)
        if product is None:
            return PolicyResult("", "answer")
        unit, _ = price_range(product, variants)
        amount = (unit or 0) * quantity(u.text)
        clauses = self._clauses(product_id, pc.now)
        terms = shipping_terms(clauses)
        fee = self._fee_text(terms, amount)
        when = self._when_text(terms, pc.now)
        sources = [Source("product", product_id)] + [Source("clause", c) for c in terms.clause_ids]
        reply = self.t.render("shipping_for_product", pc.seed, fee=fee, when=when)
        return PolicyResult(f"「{product.display_name}」{price_text(product, variants)}：{reply}", "answer",
                            sources, resolved=bool(terms.clause_ids),
                            actions=self.links.actions(product, _sku(variants)))

    def how_to_buy(self, u: Understanding, pc: PolicyContext, product_id: str) -> PolicyResult:
        product, variants = self._product(product_id, u)
        if product is None:
            return PolicyResult("", "answer")
        stock = in_stock(product, variants)
        options = "、".join(dict.fromkeys(k for v in variants if v.stock > 0 for k in v.attributes)) or "规格"
        clauses = self._clauses(product_id, pc.now)
        terms = shipping_terms(clauses)
        unit, _ = price_range(product, variants)
        ship = self._when_text(terms, pc.now)
        promo_text = ""
        promos = promotions(clauses)
        if promos and unit is not None:
            promo, tier, off = max(((p, *p.best(unit)) for p in promos), key=lambda s: s[2])
            if tier is not None:
                promo_text = f"现在下单可享{tier.label}，到手 ¥{unit - off:g}。"
            else:
                promo_text = f"正在进行「{promo.title}」：{' / '.join(t.label for t in promo.tiers)}。"
        reply = self.t.render("purchase_how", pc.seed, product=product.display_name,
                              price=price_text(product, variants),
                              stock=f"现货 {stock} 件" if stock else "暂时缺货", options=options,
                              ship=ship, promo=promo_text)
        sources = [Source("product", product_id)] + [Source("clause", c) for c in terms.clause_ids]
        return PolicyResult(reply, "answer", sources, resolved=True,
                            actions=self.links.actions(product, _sku(variants)))

    # --- helpers ------------------------------------------------------------------------
    def _product(self, product_id: str, u: Understanding) -> tuple[ProductInfo | None, list[VariantInfo]]:
        product = self.knowledge.product(product_id)
        if product is None:
            return None, []
        every = self.knowledge.variants(product_id)
        wanted = {k: (v, *u.attribute_alternatives.get(k, ())) for k, v in u.attributes.items()}
        # The variant named (樱花粉, 整提7饼) even when it is sold out: its own price and stock are the answer.
        named = chosen_variants(every, wanted, u.text) if every else []
        if named and len(named) < len(every):
            in_stock = [v for v in named if v.stock > 0]
            return product, in_stock or named
        return product, [v for v in every if v.stock > 0] or every

    @staticmethod
    def _fee_text(terms: Shipping, amount: float) -> str:
        if terms.all_free:
            return "包邮哦。"
        if terms.free_over is not None:
            if amount >= terms.free_over:
                return f"实付满{terms.free_over:g}元包邮，这单 ¥{amount:g} 包邮哦。"
            fee = f"收运费{terms.fee:g}元" if terms.fee is not None else "需付运费"
            return f"实付满{terms.free_over:g}元包邮，这单 ¥{amount:g} 还差 ¥{terms.free_over - amount:g}，不凑单的话{fee}。"
        return "运费以下单页显示为准。"

    @staticmethod
    def _when_text(terms: Shipping, now: datetime) -> str:
        if terms.cutoff is not None:
            local = now.time()
            cut = f"{terms.cutoff:%H:%M}"
            if local < terms.cutoff:
                return f"现在付款（{cut}前）今天就能发出。"
            return f"已过今天{cut}的发货截止时间，现在付款明天发出。"
        if terms.within_hours is not None:
            return f"付款后{terms.within_hours}小时内发货。"
        return ""


def _sku(variants: Sequence[VariantInfo]) -> str | None:
    return variants[0].sku if len(variants) == 1 else None


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


__all__ = ["PurchasePolicy", "HOW_TO_BUY", "PROMO", "FREE_SHIPPING", "quantity", "shipping_terms",
           "variant_label"]
