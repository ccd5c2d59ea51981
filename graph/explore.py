"""Read-only exploration views of the graph for notebooks and operators: the
category tree, stock per category and one product's neighbourhood.

Owns: turning the rows of ``graph.queries.explore`` into small dataclasses.
The answering path never uses this module; ``graph.knowledge`` serves it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import neo4j

from graph.errors import GraphError
from graph.queries.explore import (
    Q_CATEGORY_CHAIN,
    Q_CATEGORY_TREE,
    Q_POLICY_LINKS,
    Q_POLICY_WINDOWS,
    Q_PRODUCT,
    Q_PRODUCT_EDGES,
    Q_SHOWCASE_PRODUCT,
    Q_STOCK_ROWS,
)

# The property that identifies a node of each label, and the one shown as its caption.
_KEY_PROPERTY = {
    "Product": "product_id", "Variant": "sku", "Brand": "name", "Category": "path",
    "Policy": "policy_id", "Clause": "clause_id", "FAQ": "faq_id", "Order": "order_id",
}
_CAPTION_PROPERTY = {"Product": "name", "Category": "name", "Policy": "title", "FAQ": "question"}


class ProductNotFoundError(GraphError):
    """No product has the requested id."""


@dataclass(frozen=True)
class CategoryNode:
    path: str
    name: str
    depth: int
    parent: str | None
    products: int  # filed directly under this category


@dataclass(frozen=True)
class StockRow:
    product_id: str
    category: str | None
    sku: str | None  # None for a product without variants
    stock: int | None


@dataclass(frozen=True)
class CategoryStock:
    category: str
    products: int
    skus: int
    units: int
    sold_out_skus: int

    @property
    def sold_out_share(self) -> float:
        return self.sold_out_skus / self.skus if self.skus else 0.0


@dataclass(frozen=True)
class PolicyWindow:
    policy_id: str
    title: str
    version: str | None
    effective_from: datetime | None
    effective_to: datetime | None  # None: open-ended
    clauses: int

    def in_force(self, at: datetime) -> bool:
        return ((self.effective_from is None or self.effective_from <= at)
                and (self.effective_to is None or at < self.effective_to))


@dataclass(frozen=True)
class GraphNode:
    label: str
    key: str
    caption: str
    props: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.label}:{self.key}"


@dataclass(frozen=True)
class GraphEdge:
    source: str  # GraphNode.id
    target: str
    type: str


@dataclass(frozen=True)
class Neighbourhood:
    center: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    def by_label(self) -> dict[str, list[GraphNode]]:
        out: dict[str, list[GraphNode]] = defaultdict(list)
        for node in self.nodes:
            out[node.label].append(node)
        return dict(out)


def _node(labels: list[str], props: dict[str, Any]) -> GraphNode:
    label = next((lb for lb in labels if lb in _KEY_PROPERTY), labels[0] if labels else "?")
    key = str(props.get(_KEY_PROPERTY.get(label, ""), props.get("id", "?")))
    caption = str(props.get(_CAPTION_PROPERTY.get(label, ""), "") or key)
    return GraphNode(label, key, caption, dict(props))


def _native(value: Any) -> Any:
    """Neo4j temporal values as Python ones (None stays None)."""
    to_native = getattr(value, "to_native", None)
    return to_native() if to_native else value


def category_tree(driver: neo4j.Driver, database: str) -> list[CategoryNode]:
    """Every category, sorted by path (so a parent precedes its children)."""
    records, _, _ = driver.execute_query(Q_CATEGORY_TREE, database_=database)
    return [CategoryNode(r["path"], r["name"], int(r["depth"] or 0), r["parent"], int(r["products"]))
            for r in records]


def stock_rows(driver: neo4j.Driver, database: str) -> list[StockRow]:
    records, _, _ = driver.execute_query(Q_STOCK_ROWS, database_=database)
    return [StockRow(r["product_id"], r["category"], r["sku"],
                     None if r["stock"] is None else int(r["stock"])) for r in records]


def category_at_depth(path: str | None, depth: int) -> str:
    """``服装/女装/连衣裙`` at depth 1 is ``服装``; None becomes ``(未分类)``."""
    if not path:
        return "(未分类)"
    return "/".join(path.split("/")[:depth])


def stock_by_category(rows: list[StockRow], depth: int = 1) -> list[CategoryStock]:
    """Aggregate stock rows by the category prefix of ``depth`` levels; largest first."""
    products: dict[str, set[str]] = defaultdict(set)
    skus: dict[str, int] = defaultdict(int)
    units: dict[str, int] = defaultdict(int)
    sold_out: dict[str, int] = defaultdict(int)
    for row in rows:
        cat = category_at_depth(row.category, depth)
        products[cat].add(row.product_id)
        if row.stock is None:
            continue
        skus[cat] += 1
        units[cat] += row.stock
        sold_out[cat] += row.stock == 0
    out = [CategoryStock(cat, len(products[cat]), skus[cat], units[cat], sold_out[cat]) for cat in products]
    return sorted(out, key=lambda c: (-c.units, c.category))


def policy_windows(driver: neo4j.Driver, database: str) -> list[PolicyWindow]:
    """Every policy with its validity window, earliest start first."""
    records, _, _ = driver.execute_query(Q_POLICY_WINDOWS, database_=database)
    return [PolicyWindow(r["policy_id"], r["title"], r["version"], _native(r["effective_from"]),
                         _native(r["effective_to"]), int(r["clauses"])) for r in records]


def showcase_product(driver: neo4j.Driver, database: str) -> str | None:
    """A product with variants, FAQ and policies that makes a readable picture."""
    records, _, _ = driver.execute_query(Q_SHOWCASE_PRODUCT, database_=database)
    return records[0]["product_id"] if records else None


def product_neighbourhood(driver: neo4j.Driver, database: str, product_id: str) -> Neighbourhood:
    """The product, its one-hop neighbours, its category chain and the policies
    attached to the product, its brand or any category on that chain."""
    found, _, _ = driver.execute_query(Q_PRODUCT, product_id=product_id, database_=database)
    if not found:
        raise ProductNotFoundError(f"no product {product_id!r} in the graph")
    center = _node(["Product"], found[0]["props"])
    nodes: dict[str, GraphNode] = {center.id: center}
    edges: set[GraphEdge] = set()

    records, _, _ = driver.execute_query(Q_PRODUCT_EDGES, product_id=product_id, database_=database)
    for r in records:
        other = _node(r["labels"], r["props"])
        nodes.setdefault(other.id, other)
        src, dst = (center.id, other.id) if r["outgoing"] else (other.id, center.id)
        edges.add(GraphEdge(src, dst, r["type"]))

    chain, _, _ = driver.execute_query(Q_CATEGORY_CHAIN, product_id=product_id, database_=database)
    previous: GraphNode | None = None
    for r in chain:
        cat = _node(["Category"], {"path": r["path"], "name": r["name"], "depth": r["depth"]})
        nodes.setdefault(cat.id, cat)
        if previous is not None:
            edges.add(GraphEdge(previous.id, cat.id, "SUBCATEGORY_OF"))
        previous = cat

    links, _, _ = driver.execute_query(Q_POLICY_LINKS, product_id=product_id, database_=database)
    for r in links:
        policy = _node(["Policy"], {"policy_id": r["policy_id"], "title": r["title"],
                                    "effective_from": _native(r["effective_from"]),
                                    "effective_to": _native(r["effective_to"])})
        nodes.setdefault(policy.id, policy)
        anchor = _node(r["labels"], r["props"])
        nodes.setdefault(anchor.id, anchor)
        edges.add(GraphEdge(policy.id, anchor.id, r["type"]))
    return Neighbourhood(center.id, tuple(nodes.values()), tuple(sorted(edges, key=lambda e: (e.type, e.source, e.target))))
