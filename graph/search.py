"""Product search over the graph: candidates for a set of structured
constraints, and the product documents the vector index embeds.

Read-only; the Cypher is in ``graph.queries.search``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import neo4j

from graph.driver import GraphReader
from graph.knowledge import knowledge_version, product_from_props
from graph.queries import search as q
from schema.attribute_names import equivalent_keys, norm
from schema.types import ProductInfo, VariantInfo

_ASCII_WORD = re.compile(r"[0-9a-z]")


@dataclass(frozen=True)
class ProductDocument:
    """What the vector index embeds for one product."""

    product_id: str
    text: str


@dataclass(frozen=True)
class Candidate:
    """A product with the variants that passed the stock and price filters."""

    product: ProductInfo
    variants: tuple[VariantInfo, ...]


def _in_subtree(path: str | None, prefix: str) -> bool:
    prefix = prefix.strip("/")
    return bool(path) and (path == prefix or path.startswith(prefix + "/"))


def _names_as_head(product: ProductInfo, word: str) -> bool:
    """The word ends a name's noun phrase (儿童吸管保温杯 400ml is a 保温杯; 耳机收纳盒 is no 耳机):
    no Chinese character follows it in the name or an alias."""
    head = re.compile(re.escape(word) + r"(?![\u4e00-\u9fff])")
    return any(head.search(text or "") for text in (product.name, *product.aliases))


@dataclass(frozen=True)
class Facet:
    """One attribute constraint: the option (颜色/color/...; None: under any name) and the values that satisfy it."""

    option: str | None
    values: tuple[str, ...]

    def keys(self) -> list[str] | None:
        return None if self.option is None else equivalent_keys(self.option)

    def terms(self) -> tuple[list[str], list[str]]:
        """(exact, partial) normalised values. A value in the shopper's words without
        Latin letters or digits also matches inside a stored one (黑色 -> 曜石黑); L or
        42 only ever match exactly (L is not XL)."""
        exact, partial = [], []
        for value in self.values:
            v = norm(value)
            core = v.removesuffix("色") if len(v) > 1 else v
            if core and not _ASCII_WORD.search(core):
                partial.append(core)
            elif v:
                exact.append(v)
        return exact, partial


@dataclass(frozen=True)
class FacetMatches:
    """Who holds a value for every facet: per product, the matching SKUs with the stored
    value of each facet (in facet order); variant-less products by their option values."""

    variants: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    products: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def product_ids(self) -> list[str]:
        return sorted({*self.variants, *self.products})


def document_text(name: str | None, brand: str | None, category: str | None, description: str | None,
                  aliases: Sequence[str], values: Sequence[str]) -> str:
    """``name｜category｜brand｜aliases｜attribute values｜description``: the facts a wish can match."""
    parts = [name or "", (category or "").replace("/", " "), brand or "", " ".join(aliases),
             " ".join(dict.fromkeys(values)), description or ""]
    return "｜".join(p.strip() for p in parts if p and p.strip())


class ProductSearch(GraphReader):
    """Runs the candidate query; constructed with a driver (cheap)."""


    def candidates(self, *, category: str | None = None, product_ids: Sequence[str] | None = None,
                   min_price: float | None = None, max_price: float | None = None,
                   in_stock_only: bool = True, category_word: str | None = None) -> list[Candidate]:
        """Products in the category subtree (or named by ``category_word``, the shopper's word for the
        category, when shelved elsewhere) / id list with a variant in stock inside the price window."""
        word = category_word.strip() if category and category_word and len(category_word.strip()) >= 2 else None
        records = self._read(
            q.Q_SEARCH_CANDIDATES, prefix=category.strip("/") if category else None, word=word,
            ids=list(product_ids) if product_ids is not None else None,
            min_price=None if min_price is None else float(min_price),
            max_price=None if max_price is None else float(max_price), in_stock_only=in_stock_only)
        out = []
        for r in records:
            product = product_from_props(dict(r["props"]))
            if word and not _in_subtree(product.category, category) and not _names_as_head(product, word):
                continue
            variants = tuple(
                VariantInfo(sku=v["sku"], product_id=product.product_id, stock=int(v["stock"] or 0),
                            price=None if v["price"] is None else float(v["price"]),
                            attributes=json.loads(v["attributes_json"] or "{}"))
                for v in r["variants"])
            out.append(Candidate(product, variants))
        return out

    def facet_matches(self, facets: Sequence[Facet]) -> FacetMatches:
        """Variants (and variant-less products) with a value for every facet, found from the values' index."""
        if not facets:
            return FacetMatches()
        exact, partial = [], []
        for n, f in enumerate(facets):
            e, p = f.terms()
            exact += [{"facet": n, "value": v} for v in e]
            partial += [{"facet": n, "value": v} for v in p]
        params = {"facets": [{"keys": f.keys()} for f in facets], "exact": exact, "partial": partial}

        def in_order(pairs) -> tuple[str, ...]:
            by_facet = {int(i): value for i, value in pairs}
            return tuple(by_facet[n] for n in range(len(facets)))

        variants: dict[str, dict[str, tuple[str, ...]]] = {}
        for r in self._read(q.Q_FACET_VARIANTS, **params):
            variants.setdefault(r["product_id"], {})[r["sku"]] = in_order(r["values"])
        products = {r["product_id"]: in_order(r["values"]) for r in self._read(q.Q_FACET_PRODUCTS, **params)}
        return FacetMatches(variants, products)

    def product_documents(self) -> list[ProductDocument]:
        docs = []
        for r in self._read(q.Q_PRODUCT_DOCUMENTS):
            values = [str(v) for raw in r["attrs"] for v in json.loads(raw or "{}").values()]
            for opts in json.loads(r["options_json"] or "{}").values():
                values += [str(v) for v in opts]
            docs.append(ProductDocument(r["product_id"], document_text(
                r["name"], r["brand"], r["category"], r["description"], r["aliases"] or (), values)))
        return docs


class ProductDocumentSource:
    """The product index's source (``retrieval.index_build.IndexSource``): product documents only.

    Products get their own index directory so that their long texts never
    change the FAQ's keyword statistics (BM25 document frequencies and lengths).
    """

    def __init__(self, driver: neo4j.Driver, database: str) -> None:
        self._search = ProductSearch(driver, database)
        self._driver = driver
        self._database = database

    def all_faq(self) -> list:
        return []

    def all_clauses(self) -> list:
        return []

    def product_documents(self) -> list[ProductDocument]:
        return self._search.product_documents()

    def knowledge_version(self) -> int:
        return knowledge_version(self._driver, self._database)
