"""One entry for the shopping-guide behaviours (search, comparison, help to
buy), so that the engine needs one route: ``ShoppingGuide.route(u, pc)``
returns a reply, or None when the message is not for it.

Order: comparison (names two products or the list), help to buy for the
product discussed (怎么下单, 包邮吗, 有优惠吗), the promotions in force
(现在有什么活动), then search/recommendation (推荐, 有没有…的, 200以内).
A 第二个 reference to the last list is resolved first, so the product
policies downstream answer 第二个多少钱 / 第一个有L码吗.
"""

from __future__ import annotations

import re

from dialog.policies.base import Knowledge, PolicyContext, PolicyResult, TextCache
from dialog.policies.catalog_view import ProductLinks
from dialog.policies.compare import ComparePolicy, products_to_compare
from dialog.policies.purchase import FREE_SHIPPING, HOW_TO_BUY, PROMO, PurchasePolicy
from dialog.policies.search import (
    SHOPPING_TEMPLATES,
    CandidateSource,
    ProductRanker,
    SearchPolicy,
    resolve_list_reference,
)
from dialog.sizing import asks_for_size, parse_measures
from dialog.templates import Templates
from dialog.understand import PRODUCT_INTENTS, Understanding
from schema.types import EntityLink

_CHEAPER_SEARCH = re.compile(r"有没有.{0,6}便宜|便宜(?:一)?点的|更便宜的|再便宜的|便宜些的")
# The taxonomy has no search intent: a search or recommendation is a product question.
SEARCH_INTENT = "product_attribute"
PROMOTION_INTENT = "price_promotion"
SIZE_INTENT = "size_advice"
# A question about the shopper's own order or after-sales is not a purchase question.
_OWN_ORDER = re.compile(r"我的订单|订单|单号|已经(?:付款|下单|买|拍)|已付款|已下单|买了|收到|退款|退货|换货|售后|发票")
_NOT_PURCHASE_INTENTS = frozenset({"return_refund", "exchange", "order_status", "change_address", "cancel_order",
                                   "invoice", "warranty", "complaint", "missing_item", "price_protection",
                                   "installation", "membership"})
_STORE_PROMOS = re.compile(r"(?:现在|最近|店里|店铺|你们)?(?:有|在)?(?:什么|哪些|啥)(?:优惠)?活动|有活动吗|在搞活动|有优惠活动吗|"
                           r"活动(?:还有|结束|还在)|还有.{0,4}(?:活动|优惠)吗")


def _remember_variant(u: Understanding, ctx, product_id: str) -> None:
    """那就粉的吧 … 怎么下单: the variant chosen for the product discussed carries to the next turns."""
    if u.attributes:
        ctx.last_variant_attrs = dict(u.attributes)
    elif product_id == ctx.last_product_id and ctx.last_variant_attrs:
        u.attributes = dict(ctx.last_variant_attrs)


def _asks_promotion(u: Understanding) -> None:
    """A message naming a promotion (满399减50, 双11那个还有吗) is answered with the promotion:
    it asks about the promotion, whatever product fact the classifier heard in it."""
    if u.intent in PRODUCT_INTENTS or u.unsure:
        u.intent, u.unsure = PROMOTION_INTENT, False


class ShoppingGuide:
    def __init__(self, knowledge: Knowledge, catalog: CandidateSource, ranker: ProductRanker | None,
                 cache: TextCache, links: ProductLinks) -> None:
        templates = Templates(SHOPPING_TEMPLATES)
        self.search = SearchPolicy(catalog, ranker, links, templates)
        self.compare = ComparePolicy(knowledge, ranker, links, templates)
        self.purchase = PurchasePolicy(knowledge, cache, links, templates)
        self.knowledge = knowledge

    def route(self, u: Understanding, pc: PolicyContext) -> PolicyResult | None:
        ctx = pc.context
        if u.compare_variant is not None and u.compare_ids:
            return self.compare.variants(u, pc, u.compare_ids[0], u.compare_variant)
        if len(u.compare_ids) >= 2:
            return self.compare.answer(u, pc, list(u.compare_ids))
        if ComparePolicy.wants(u):
            ids = products_to_compare(u, ctx.last_results)
            if len(ids) >= 2:
                return self.compare.answer(u, pc, ids)
        referenced = resolve_list_reference(u, ctx.last_results)
        product_id = u.product_id if (u.product_link and not u.product_link.candidates) else None
        if product_id is None and (u.coreference or not u.product_link):
            product_id = ctx.last_product_id
        text = u.text
        if _CHEAPER_SEARCH.search(text) and (ctx.last_results or ctx.last_product_id):
            reference = self._reference_price(ctx.last_product_id or ctx.last_results[0])
            u.intent = SEARCH_INTENT
            return self.search.answer(u, pc, reference_price=reference)
        own_order = bool(_OWN_ORDER.search(text))
        if own_order or (u.intent in _NOT_PURCHASE_INTENTS and not HOW_TO_BUY.search(text)):
            if referenced and u.intent not in PRODUCT_INTENTS:
                u.intent = "product_attribute"
            return None
        if (product_id is None and u.attributes and (u.product_link is None or u.product_link.candidates)
                and not SearchPolicy.wants(u, ctx.last_product_id)):
            product_id = self._named_by_values(u)
        if product_id is not None and (HOW_TO_BUY.search(text) or PROMO.search(text) or FREE_SHIPPING.search(text)):
            _remember_variant(u, ctx, product_id)
        if product_id and HOW_TO_BUY.search(text):
            ctx.last_product_id = product_id
            return self._noted(ctx, product_id, self.purchase.how_to_buy(u, pc, product_id))
        if HOW_TO_BUY.search(text) and (u.product_link is None or u.product_link.candidates):
            # 怎么下单 with no product in the conversation: help to buy, never the order flow.
            return self.purchase.which_product(u, pc, ctx.last_results or
                                               ([u.product_link.value, *u.product_link.candidates]
                                                if u.product_link else []))
        if product_id and FREE_SHIPPING.search(text) and ("包邮" in text or "运费" in text or "邮费" in text
                                                          or "发" in text):
            ctx.last_product_id = product_id
            return self._noted(ctx, product_id, self.purchase.shipping(u, pc, product_id))
        if _STORE_PROMOS.search(text) and not (u.product_link and not u.product_link.candidates):
            _asks_promotion(u)
            return self.purchase.list_promotions(u, pc)
        if product_id and PROMO.search(text):
            _asks_promotion(u)
            ctx.last_product_id = product_id
            return self._noted(ctx, product_id, self.purchase.promotion(u, pc, product_id))
        if PROMO.search(text) and not product_id:
            _asks_promotion(u)
            return self.purchase.list_promotions(u, pc)
        if referenced:
            if u.intent not in PRODUCT_INTENTS:
                u.intent = "product_attribute"
            return None
        if u.intent == SIZE_INTENT and asks_for_size(text) and parse_measures(text):
            return None  # 身高118 选哪个尺寸: which size fits (the size route), not a search
        if SearchPolicy.wants(u, ctx.last_product_id):
            u.intent = SEARCH_INTENT
            return self.search.answer(u, pc)
        return None

    def _named_by_values(self, u: Understanding) -> str | None:
        """A brand, category or family name with option values (26寸 焦糖色) that only one of its products has."""
        scopes = [e for e in u.entities if e.type in ("brand", "category")]
        family = [u.product_link.value, *u.product_link.candidates] if u.product_link else None
        if not scopes and not family:
            return None
        found = self.search.find_for(u, family)
        brands = {e.value for e in scopes if e.type == "brand"}
        ids = [c.product.product_id for c, _, _ in found if not brands or c.product.brand in brands]
        if len(ids) != 1:
            return None
        u.product_link = EntityLink(u.text, 0, len(u.text), "product", ids[0], 0.9)
        return ids[0]

    def _reference_price(self, product_id: str) -> float | None:
        product = self.knowledge.product(product_id)
        if product is None:
            return None
        prices = [v.price for v in self.knowledge.variants(product_id) if v.price is not None and v.stock > 0]
        return min(prices) if prices else product.price

    @staticmethod
    def _noted(ctx, product_id: str, result: PolicyResult) -> PolicyResult:
        ctx.discussed_products = list(dict.fromkeys([*ctx.discussed_products, product_id]))[-20:]
        return result
