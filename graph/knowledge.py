"""The read API over the knowledge graph (``schema.services.KnowledgeSource``).

Owns: turning graph nodes into ``schema.types`` objects for the dialogue
layer and the retrieval indexes: products and variants, stock by attribute,
the cheapest product, policy clauses in force (category hierarchy, brand and
product targets, exclusions, time windows), FAQ, and the catalogue lexicon
for the entity linker. Read-only; every query is in ``graph.queries.knowledge``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import neo4j

from graph.breaker import breaker_for
from graph.driver import GraphReader
from graph.queries import knowledge as q
from schema.attribute_names import equivalent_keys, lexicon_type, norm, same_attribute
from schema.lexicon import CatalogLexicon, LexiconEntry, merge_entries
from schema.types import ClauseInfo, FAQInfo, ProductInfo, VariantInfo


def knowledge_version(driver: neo4j.Driver, database: str) -> int:
    """The graph's KnowledgeVersion (0 before the first load)."""
    records, _, _ = breaker_for(driver).call(lambda: driver.execute_query(
        q.Q_KNOWLEDGE_VERSION, database_=database, routing_=neo4j.RoutingControl.READ))
    return int(records[0]["version"]) if records else 0


def product_from_props(props: dict[str, Any]) -> ProductInfo:
    options = json.loads(props.get("options_json") or "{}")
    price = props.get("price")
    return ProductInfo(
        product_id=props["product_id"],
        name=props.get("name"),
        brand=props.get("brand"),
        category=props.get("category"),
        price=None if price is None else float(price),
        description=props.get("description"),
        aliases=tuple(props.get("aliases") or ()),
        options={k: tuple(v) for k, v in options.items()},
        total_stock=props.get("total_stock"),
    )


def _faq(props: dict[str, Any]) -> FAQInfo:
    return FAQInfo(
        faq_id=props["faq_id"],
        question=props["question"],
        answer=props["answer"],
        paraphrases=tuple(props.get("paraphrases") or ()),
        tags=tuple(props.get("tags") or ()),
        about_product=props.get("about_product"),
    )


def _native(value: Any) -> datetime | None:
    return value.to_native() if value is not None and hasattr(value, "to_native") else value


def _clause(r: neo4j.Record) -> ClauseInfo:
    keys = r.keys()
    return ClauseInfo(clause_id=r["clause_id"], policy_id=r["policy_id"], policy_title=r["policy_title"],
                      text=r["text"], order=int(r["order"]),
                      effective_from=_native(r["effective_from"]) if "effective_from" in keys else None,
                      effective_to=_native(r["effective_to"]) if "effective_to" in keys else None)


STORE_TZ = timezone(timedelta(hours=8))


class GraphKnowledge(GraphReader):
    """Answers the dialogue layer's factual questions from Neo4j."""


    def knowledge_version(self) -> int:
        return knowledge_version(self._driver, self._database)

    # --- products and variants ------------------------------------------------------
    def product(self, product_id: str) -> ProductInfo | None:
        records = self._read(q.Q_PRODUCT, product_id=product_id)
        return product_from_props(dict(records[0]["props"])) if records else None

    def products(self, product_ids: Sequence[str]) -> list[ProductInfo]:
        """The products that exist, in the order asked."""
        found = {r["props"]["product_id"]: product_from_props(dict(r["props"]))
                 for r in self._read(q.Q_PRODUCTS, ids=list(dict.fromkeys(product_ids)))}
        return [found[pid] for pid in dict.fromkeys(product_ids) if pid in found]

    def products_of_skus(self, skus: Sequence[str]) -> list[str]:
        """The product ids of these SKUs, first seen first; unknown SKUs are left out."""
        return list(dict.fromkeys(r["product_id"] for r in self._read(q.Q_PRODUCTS_OF_SKUS, skus=list(skus))
                                  if r["product_id"]))

    def variants(self, product_id: str, **attr_filters: str) -> list[VariantInfo]:
        """Variants of a product whose attributes equal every filter.

        Filter names may be the store's own (``颜色='雾霾蓝'``) or any name of
        the same option (``color='雾霾蓝'`` finds a ``颜色`` attribute); names and
        values compare NFKC-normalised and case folded.
        """
        if attr_filters:
            filters = [{"keys": equivalent_keys(k), "value": norm(v)} for k, v in attr_filters.items()]
            records = self._read(q.Q_VARIANTS_FILTERED, product_id=product_id, filters=filters)
        else:
            records = self._read(q.Q_VARIANTS, product_id=product_id)
        return [
            VariantInfo(sku=r["sku"], product_id=r["product_id"], stock=int(r["stock"] or 0),
                        price=None if r["price"] is None else float(r["price"]),
                        attributes=json.loads(r["attributes_json"] or "{}"))
            for r in records
        ]

    def in_stock_values(self, product_id: str, attr: str) -> list[str]:
        """Distinct values of ``attr`` (any name of the option: 颜色 or color) that have stock, in SKU order.

        For a product without variants this is its option list when its total
        stock is positive: per-option stock is unknown there.
        """
        variants = self.variants(product_id)
        if variants:
            return list(dict.fromkeys(value for v in variants if v.stock > 0
                                      for key, value in v.attributes.items() if same_attribute(key, attr)))
        product = self.product(product_id)
        if product is None or not (product.total_stock or 0) > 0:
            return []
        return [value for key, values in product.options.items() if same_attribute(key, attr) for value in values]

    def cheapest(self, category_prefix: str | None = None, product_ids: Sequence[str] | None = None,
                 in_stock_only: bool = True) -> ProductInfo | None:
        """The lowest-priced product (by product price) in a category subtree and/or among ids."""
        prefix = category_prefix.strip("/") if category_prefix else None
        if product_ids is not None:
            records = self._read(q.Q_CHEAPEST_AMONG, ids=list(product_ids), prefix=prefix,
                                 in_stock_only=in_stock_only)
        elif prefix:
            records = self._read(q.Q_CHEAPEST_IN_CATEGORY, prefix=prefix, in_stock_only=in_stock_only)
        else:
            records = self._read(q.Q_CHEAPEST, in_stock_only=in_stock_only)
        return product_from_props(dict(records[0]["props"])) if records else None

    # --- policies and FAQ ---------------------------------------------------------------
    def clauses_in_force(self, product_id: str | None = None, category: str | None = None,
                         at: datetime | None = None) -> list[ClauseInfo]:
        """Clauses of the policies that apply at ``at`` (default now).

        With a product: policies targeting its category or an ancestor, its
        brand or the product itself, minus those excluding any of these.
        With a category only: the same for that category path. With neither:
        store-wide policies (no targets) only.
        """
        when = at or datetime.now(UTC)
        # Send a fixed +08:00 offset (store time), never a zoneinfo datetime: the
        # driver's conversion of those fails intermittently ("utcoffset must be a
        # whole number of minutes", even segfaults; cpython#125318). Store time and
        # not UTC because Cypher orders equal instants with different offsets by
        # offset, so a boundary instant only compares inclusively in the zone the
        # policy dates were written in (the demo data and ingest default: +08:00).
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        when = when.astimezone(STORE_TZ)
        records = self._read(q.Q_CLAUSES_IN_FORCE, product_id=product_id,
                             category=category.strip("/") if category else None, at=when)
        return [_clause(r) for r in records]

    def policy(self, policy_id: str) -> list[ClauseInfo]:
        """The clauses of one policy in order (empty when it does not exist)."""
        return [_clause(r) for r in self._read(q.Q_POLICY_CLAUSES, policy_id=policy_id)]

    def all_clauses(self) -> list[ClauseInfo]:
        """Every clause of every policy, whether in force or not (for the vector index)."""
        return [_clause(r) for r in self._read(q.Q_ALL_CLAUSES)]

    def faq(self, faq_id: str) -> FAQInfo | None:
        records = self._read(q.Q_FAQ, faq_id=faq_id)
        return _faq(dict(records[0]["props"])) if records else None

    def all_faq(self) -> list[FAQInfo]:
        return [_faq(dict(r["props"])) for r in self._read(q.Q_ALL_FAQ)]

    # --- lexicon --------------------------------------------------------------------------
    def catalog_lexicon(self) -> CatalogLexicon:
        """Names, aliases, brands, category names and attribute values with their product ids."""
        def read(tx: neo4j.ManagedTransaction) -> tuple[list[Any], ...]:
            return tuple(list(tx.run(query)) for query in (
                q.Q_LEX_PRODUCTS, q.Q_LEX_VARIANTS, q.Q_LEX_CATEGORIES, q.Q_LEX_BRANDS,
                q.Q_KNOWLEDGE_VERSION))

        def run() -> tuple[list[Any], ...]:
            with self._driver.session(database=self._database, default_access_mode=neo4j.READ_ACCESS) as s:
                return s.execute_read(read)

        products, variants, categories, brands, version = breaker_for(self._driver).call(run)
        entries = list(_lexicon_entries(products, variants, categories, brands))
        return CatalogLexicon(version=str(version[0]["version"] if version else 0),
                              entries=merge_entries(entries))


def _lexicon_entries(products: Iterable[Any], variants: Iterable[Any], categories: Iterable[Any],
                     brands: Iterable[Any]) -> Iterable[LexiconEntry]:
    by_brand: dict[str, set[str]] = defaultdict(set)
    by_category: dict[str, set[str]] = defaultdict(set)
    by_value: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in products:
        pid = p["product_id"]
        if p["name"]:
            yield LexiconEntry(p["name"], "product", pid, (pid,), None, "name")
        for alias in p["aliases"] or ():
            yield LexiconEntry(alias, "product", pid, (pid,), None, "alias")
        if p["brand"]:
            by_brand[p["brand"]].add(pid)
        if p["category"]:
            parts = p["category"].split("/")
            for depth in range(1, len(parts) + 1):
                by_category["/".join(parts[:depth])].add(pid)
        for attr, values in json.loads(p["options_json"] or "{}").items():
            for value in values:
                by_value[(attr, str(value))].add(pid)
    for v in variants:
        for attr, value in json.loads(v["attributes_json"] or "{}").items():
            by_value[(attr, str(value))].add(v["product_id"])
    for b in brands:
        yield LexiconEntry(b["name"], "brand", b["name"], tuple(sorted(by_brand.get(b["name"], ()))), None,
                           "brand")
    for c in categories:
        yield LexiconEntry(c["name"], "category", c["path"], tuple(sorted(by_category.get(c["path"], ()))),
                           None, "category")
    for (attr, value), pids in by_value.items():
        yield LexiconEntry(value, lexicon_type(attr), value, tuple(sorted(pids)), attr, "attribute")
