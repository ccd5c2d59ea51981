"""Read a shopping request out of a message: which category, attribute values,
price window, descriptive wish, and whether it is a search at all.

Only general Chinese shopping language lives here (以内, 到, 便宜点, 推荐, 适合);
categories and attribute values come from the entity linker, which reads them
from the store's own graph, so any store's names work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dialog.understand import Understanding
from schema.attribute_names import family

_NUM = r"(\d+(?:\.\d+)?)"
_CURRENCY = r"(?:元|块钱|块|rmb|RMB)?"
_PRICE_RANGE = re.compile(_NUM + r"\s*" + _CURRENCY + r"\s*(?:到|至|-|~|～|—)\s*" + _NUM + r"\s*" + _CURRENCY
                          + r"(?!\s*(?:ml|毫升|g|克|kg|寸|码|cm|mah|w|瓦|升|l\b))", re.I)
_PRICE_MAX = re.compile(r"(?:(?:预算|不超过|不到|低于|少于|最多)\s*" + _NUM + r"\s*" + _CURRENCY + r")|(?:" + _NUM
                        + r"\s*" + _CURRENCY + r"\s*(?:以内|以下|之内|内的|内))")
_PRICE_MIN = re.compile(_NUM + r"\s*" + _CURRENCY + r"\s*(?:以上|起步)")
_PRICE_AROUND = re.compile(_NUM + r"\s*" + _CURRENCY + r"\s*左右")
_UNITS = r"(ml|毫升|l|升|g|克|kg|千克|斤|寸|英寸|mah|毫安|w|瓦|cm|厘米|mm|米|m|gb|g|tb)"
_MEASURE_BOUND = re.compile(_NUM + r"\s*" + _UNITS + r"\s*(以内|以下|之内|以上|左右)", re.I)
_CHEAPER = re.compile(r"便宜(?:一)?点|便宜些|更便宜|实惠(?:一)?点|价格低(?:一)?点|再便宜")
_SEARCH_CUES = re.compile(
    r"推荐|有没有.{0,12}的|有什么.{0,10}(?:推荐|款|的)|有哪些|有啥|适合|有合适的|想买|想要|想找|求推荐|找一款|来一款|"
    r"送(?:长辈|老人|父母|爸妈|妈妈|爸爸|女朋友|男朋友|老婆|老公|朋友|同事|孩子|小孩|闺蜜|人)|"
    r"以内|以下|以上|左右|预算|便宜(?:一)?点|哪款好|哪个好|选哪")
# Cues that ask for other products even while one product is being discussed.
_STRONG_CUES = re.compile(
    r"推荐|有哪些|有什么|有啥|适合|有合适的|想买|想要|想找|求|找一款|来一款|别的|其他|其它|类似|同类|还有哪|"
    r"送(?:长辈|老人|父母|爸妈|妈妈|爸爸|女朋友|男朋友|老婆|老公|朋友|同事|孩子|小孩|闺蜜|人)|"
    r"以内|以下|以上|左右|预算|哪款好|哪个好|选哪")
_FILLER = re.compile(
    r"你们家|你们|店里|有没有|有什么|有哪些|有啥|推荐一下|推荐|求|一款|一个|一件|一双|几款|款|帮我|给我|"
    r"便宜|实惠|找|想买|想要|请问|可以|吗|呢|呀|啊|吧|的|么|嘛|亲|哦|一下|有货|现货|在售|还有|好看|好用|点|\?|？|!|！|，|,|。|\s")


@dataclass
class SearchRequest:
    """Constraints of one search; every field is optional."""

    category: str | None = None                       # a category path prefix
    category_label: str | None = None                 # the shopper's word for it
    min_price: float | None = None
    max_price: float | None = None
    price_label: str | None = None
    # attribute key (or ``attribute:<value>``) -> the values that satisfy it
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    wish: str = ""                                    # what is left: 适合夏天, 送长辈
    cheaper: bool = False                             # 便宜点: below the reference price
    # 500ml以内: (unit, lowest, highest) compared with the numbers in attribute values
    measure: tuple[str, float | None, float | None] | None = None
    measure_label: str | None = None
    exclude: tuple[str, ...] = ()

    @property
    def structured(self) -> bool:
        return bool(self.category or self.attributes or self.measure
                    or self.min_price is not None or self.max_price is not None)

    def to_dict(self) -> dict:
        return {"category": self.category, "category_label": self.category_label, "min_price": self.min_price,
                "max_price": self.max_price, "price_label": self.price_label,
                "attributes": {k: list(v) for k, v in self.attributes.items()}, "wish": self.wish,
                "measure": list(self.measure) if self.measure else None, "measure_label": self.measure_label}

    @classmethod
    def from_dict(cls, data: dict) -> SearchRequest:
        return cls(category=data.get("category"), category_label=data.get("category_label"),
                   min_price=data.get("min_price"), max_price=data.get("max_price"),
                   price_label=data.get("price_label"),
                   attributes={k: tuple(v) for k, v in (data.get("attributes") or {}).items()},
                   wish=data.get("wish") or "",
                   measure=tuple(data["measure"]) if data.get("measure") else None,
                   measure_label=data.get("measure_label"))


def _price(text: str, req: SearchRequest) -> list[tuple[int, int]]:
    spans = []
    m = _PRICE_RANGE.search(text)
    if m:
        low, high = sorted((float(m.group(1)), float(m.group(2))))
        req.min_price, req.max_price, req.price_label = low, high, f"¥{low:g}-{high:g}"
        return [m.span()]
    m = _PRICE_MAX.search(text)
    if m:
        value = float(m.group(1) or m.group(2))
        req.max_price, req.price_label = value, f"{value:g}元以内"
        spans.append(m.span())
    m = _PRICE_MIN.search(text)
    if m:
        value = float(m.group(1))
        req.min_price, req.price_label = value, f"{value:g}元以上"
        spans.append(m.span())
    m = _PRICE_AROUND.search(text)
    if m and req.max_price is None and req.min_price is None:
        value = float(m.group(1))
        req.min_price, req.max_price, req.price_label = value * 0.8, value * 1.2, f"{value:g}元左右"
        spans.append(m.span())
    return spans


def _measure(text: str, req: SearchRequest) -> list[tuple[int, int]]:
    m = _MEASURE_BOUND.search(text)
    if not m:
        return []
    value, unit, bound = float(m.group(1)), m.group(2).lower(), m.group(3)
    if bound == "以上":
        req.measure = (unit, value, None)
    elif bound == "左右":
        req.measure = (unit, value * 0.8, value * 1.2)
    else:
        req.measure = (unit, None, value)
    req.measure_label = m.group(0)
    return [m.span()]


def looks_like_search(u: Understanding, discussing: str | None = None) -> bool:
    """A shopping request rather than a question about one named product.

    ``discussing`` is the product of the conversation: then 有没有黑色的 asks about
    that product, and only a strong cue (推荐, 别的, 200以内...) starts a search.
    """
    text = u.text
    priced = bool(_PRICE_RANGE.search(text) or _PRICE_MAX.search(text) or _PRICE_MIN.search(text))
    category = any(e.type == "category" for e in u.entities)
    if not (_SEARCH_CUES.search(text) or (priced and (category or u.product_link is None))):
        return False
    has_constraint = any(e.type in ("category", "color", "size", "attribute") for e in u.entities)
    single_product = u.product_link is not None and not u.product_link.candidates
    strong = bool(_STRONG_CUES.search(text))
    if single_product and (not strong or _asks_own_options(text)):
        return False
    if discussing and not strong and not category:
        return False
    return has_constraint or strong or priced or u.product_link is not None


_WHICH = re.compile(r"(?:有哪些|有哪几|有什么|有啥|哪几)(?:个|种|款)?(\S{1,4}?)(?:可选|可以选|呢|吗|啊|\?|？|$)")


def _asks_own_options(text: str) -> bool:
    """清泉保温杯有哪些颜色: with one product named, 有哪些 + an option name asks about its options."""
    m = _WHICH.search(text)
    return m is not None and family(m.group(1)) is not None


def parse_request(u: Understanding) -> SearchRequest:
    """The constraints named in the message (category, attributes, price, wish)."""
    text = u.text
    req = SearchRequest()
    measures = _measure(text, req)
    spans = measures + _price(text, req)
    req.cheaper = bool(_CHEAPER.search(text))
    categories = [e for e in u.entities if e.type == "category"]
    if categories:
        # The deepest path named wins (连衣裙 over 女装).
        best = max(categories, key=lambda e: (e.value.count("/"), e.score))
        req.category, req.category_label = best.value, best.text
    for e in u.entities:
        spans.append((e.start, e.end))
    # 500ml以内 is a bound, not the value 500ml: an attribute named inside a measure is no facet.
    inside = {e.type if e.type != "attribute" else f"attribute:{e.value}" for e in u.entities
              if any(s <= e.start and e.end <= t for s, t in measures)}
    for key, value in u.attributes.items():
        if key in inside:
            continue
        req.attributes[key] = tuple(dict.fromkeys((value, *u.attribute_alternatives.get(key, ()))))
    if u.product_link is not None and u.product_link.candidates and req.category is None:
        req.wish = u.product_link.text
    rest = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(rest))):
            rest[i] = " "
    wish = _FILLER.sub("", "".join(rest))
    wish = re.sub(r"\d+(?:\.\d+)?\s*(?:元|块)?", "", wish)
    if len(wish) >= 2:
        req.wish = (req.wish + " " + wish).strip()
    return req
