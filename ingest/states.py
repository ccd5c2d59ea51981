"""Entity states: the canonical, JSON-able content of each graph entity.

Owns: turning validated records into states, states into the rows the write
queries take, graph properties back into states, and the content hash.

A *state* is a plain dict per entity (product, variant, policy, faq, order)
holding exactly what the graph stores for it; ``content_hash`` of the state is
saved on the node, so a reload with the same content is recognised as
unchanged, and change sets compare hashes to detect staleness. The state
read back from the graph hashes to the stored hash (tested).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from graph.orders import hash_phone
from schema.attribute_names import norm
from schema.records import CHINA_TZ, FAQRecord, OrderRecord, PolicyRecord, ProductRecord, StockUpdate

State = dict[str, Any]

ID_FIELD = {
    "product": "product_id",
    "variant": "sku",
    "policy": "policy_id",
    "faq": "faq_id",
    "order": "order_id",
}


def content_hash(state: State) -> str:
    text = json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entity_id(entity: str, state: State) -> str:
    return str(state[ID_FIELD[entity]])


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(CHINA_TZ).isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _graph_time(value: Any) -> str | None:
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    return _iso(native)


def _price(value: Any) -> float | None:
    return None if value is None else float(value)


# --- records -> states ------------------------------------------------------------
def inline_faq_id(product_id: str, n: int) -> str:
    return f"{product_id}-FAQ-{n}"


def product_states(rec: ProductRecord) -> tuple[State, list[State], list[State]]:
    """The product's own state, its variants' states and its inline FAQ states."""
    product = {
        "product_id": rec.product_id,
        "name": rec.name,
        "brand": rec.brand,
        "category": rec.category,
        "price": _price(rec.price),
        "description": rec.description,
        "aliases": list(rec.aliases),
        "options": rec.attributes.options(),
        "total_stock": rec.attributes.stock,
        "policies": list(rec.policies),
    }
    variants = [
        {
            "sku": v.sku,
            "product_id": rec.product_id,
            "attributes": dict(v.attributes),
            "stock": v.stock,
            "price": _price(v.price),
        }
        for v in rec.variants
    ]
    faqs = [
        {
            "faq_id": inline_faq_id(rec.product_id, n),
            "question": f.q,
            "answer": f.a,
            "paraphrases": [],
            "tags": [],
            "about_product": rec.product_id,
            "about_category": None,
            "about_policy": None,
            "origin": "product",
        }
        for n, f in enumerate(rec.faq, start=1)
    ]
    return product, variants, faqs


def _targets(t: Any) -> State:
    return {"categories": list(t.categories), "brands": list(t.brands), "products": list(t.products)}


def policy_state(rec: PolicyRecord) -> State:
    return {
        "policy_id": rec.policy_id,
        "title": rec.title,
        "version": rec.version,
        "clauses": [c.text for c in rec.clauses],
        "applies_to": _targets(rec.applies_to),
        "excludes": _targets(rec.excludes),
        "effective_from": _iso(rec.effective_from),
        "effective_to": _iso(rec.effective_to),
    }


def faq_state(rec: FAQRecord) -> State:
    about = rec.about
    return {
        "faq_id": rec.faq_id,
        "question": rec.question,
        "answer": rec.answer,
        "paraphrases": list(rec.paraphrases),
        "tags": list(rec.tags),
        "about_product": about.product_id if about else None,
        "about_category": about.category if about else None,
        "about_policy": about.policy_id if about else None,
        "origin": "faq",
    }


def order_state(rec: OrderRecord, salt: str) -> State:
    return {
        "order_id": rec.order_id,
        "status": rec.status,
        "phone_hash": hash_phone(rec.phone, salt),
        "phone_last4": rec.phone[-4:],
        "user_id": rec.user_id,
        "items": [{"sku": i.sku, "qty": i.qty} for i in rec.items],
        "created_at": _iso(rec.created_at),
        "paid_at": _iso(rec.paid_at),
        "shipped_at": _iso(rec.shipped_at),
        "carrier": rec.carrier,
        "tracking_no": rec.tracking_no,
        "address": rec.address,
    }


def apply_stock(variant: State, update: StockUpdate) -> State:
    """The variant state after a stock update; ``ValueError`` if stock would go negative."""
    stock = update.stock if update.stock is not None else variant["stock"] + (update.delta or 0)
    if stock < 0:
        raise ValueError(
            f"stock would become {stock} (current {variant['stock']}, delta {update.delta})"
        )
    return {**variant, "stock": stock}


# --- states -> write rows ---------------------------------------------------------
# Each builder takes the state and its content hash (computed once, in the plan)
# and returns the node's complete property map; policies add their clause rows.
def _clean(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


def facet_rows(attributes: dict[str, Any]) -> list[dict[str, str]]:
    """``(:AttrValue)`` rows for a variant's attributes or a product's option lists.

    ``key``/``value`` are as the store wrote them; ``key_norm``/``value_norm``
    (NFKC, case folded, no whitespace) identify the shared node, so 颜色=雾霾蓝
    of every product is one facet value.
    """
    rows = []
    for key, values in attributes.items():
        for value in values if isinstance(values, list) else [values]:
            rows.append({"key": key, "key_norm": norm(key), "value": str(value), "value_norm": norm(str(value))})
    return rows


def product_row(state: State, digest: str) -> dict[str, Any]:
    props = {
        "product_id": state["product_id"],
        "name": state["name"],
        "brand": state["brand"],
        "category": state["category"],
        "price": state["price"],
        "description": state["description"],
        "aliases": state["aliases"],
        "alias_text": " ".join(state["aliases"]),
        "options_json": json.dumps(state["options"], ensure_ascii=False, sort_keys=True),
        "total_stock": state["total_stock"],
        "policy_ids": state["policies"],
        "content_hash": digest,
    }
    return {"product_id": state["product_id"], "props": _clean(props),
            "values": facet_rows(state["options"])}


def variant_row(state: State, digest: str) -> dict[str, Any]:
    # Attribute names are the store's own (any script): they are never property
    # names; they live in attributes_json (exact) and as AttrValue facet nodes.
    props = {
        "sku": state["sku"],
        "product_id": state["product_id"],
        "stock": state["stock"],
        "price": state["price"],
        "attributes_json": json.dumps(state["attributes"], ensure_ascii=False, sort_keys=True),
        "content_hash": digest,
    }
    return {"sku": state["sku"], "product_id": state["product_id"], "props": _clean(props),
            "values": facet_rows(state["attributes"])}


def policy_row(state: State, digest: str) -> dict[str, Any]:
    pid = state["policy_id"]
    applies, excludes = state["applies_to"], state["excludes"]
    props = {
        "policy_id": pid,
        "title": state["title"],
        "version": state["version"],
        "effective_from": _from_iso(state["effective_from"]),
        "effective_to": _from_iso(state["effective_to"]),
        "applies_categories": applies["categories"],
        "applies_brands": applies["brands"],
        "applies_products": applies["products"],
        "excludes_categories": excludes["categories"],
        "excludes_brands": excludes["brands"],
        "excludes_products": excludes["products"],
        "content_hash": digest,
    }
    clauses = [
        {"clause_id": f"{pid}#{n}", "policy_id": pid, "text": text, "order": n}
        for n, text in enumerate(state["clauses"], start=1)
    ]
    return {"policy_id": pid, "props": _clean(props), "clauses": clauses}


def faq_row(state: State, digest: str) -> dict[str, Any]:
    return _clean({**state, "content_hash": digest})


def order_row(state: State, digest: str) -> dict[str, Any]:
    props = {
        "order_id": state["order_id"],
        "status": state["status"],
        "phone_hash": state["phone_hash"],
        "phone_last4": state["phone_last4"],
        "user_id": state.get("user_id"),
        "item_skus": [i["sku"] for i in state["items"]],
        "item_qtys": [i["qty"] for i in state["items"]],
        "items_json": json.dumps(state["items"], ensure_ascii=False),
        "created_at": _from_iso(state["created_at"]),
        "paid_at": _from_iso(state["paid_at"]),
        "shipped_at": _from_iso(state["shipped_at"]),
        "carrier": state["carrier"],
        "tracking_no": state["tracking_no"],
        "address": state["address"],
        "content_hash": digest,
    }
    return _clean(props)


ROW_BUILDERS = {
    "product": product_row,
    "variant": variant_row,
    "policy": policy_row,
    "faq": faq_row,
    "order": order_row,
}


def category_rows(paths: set[str]) -> list[dict[str, Any]]:
    """Every category on the given paths and their ancestors, parents first."""
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            rows.setdefault(sub, {
                "path": sub,
                "name": parts[depth - 1],
                "depth": depth,
                "parent": "/".join(parts[: depth - 1]) or None,
            })
    return sorted(rows.values(), key=lambda r: (r["depth"], r["path"]))


# --- graph properties -> states ------------------------------------------------------
def product_from_graph(props: dict[str, Any]) -> State:
    return {
        "product_id": props["product_id"],
        "name": props.get("name"),
        "brand": props.get("brand"),
        "category": props.get("category"),
        "price": _price(props.get("price")),
        "description": props.get("description"),
        "aliases": list(props.get("aliases") or []),
        "options": json.loads(props.get("options_json") or "{}"),
        "total_stock": props.get("total_stock"),
        "policies": list(props.get("policy_ids") or []),
    }


def variant_from_graph(props: dict[str, Any]) -> State:
    return {
        "sku": props["sku"],
        "product_id": props["product_id"],
        "attributes": json.loads(props.get("attributes_json") or "{}"),
        "stock": int(props.get("stock") or 0),
        "price": _price(props.get("price")),
    }


def policy_from_graph(props: dict[str, Any], clauses: list[dict[str, Any]]) -> State:
    ordered = sorted(clauses, key=lambda c: c["order"])
    return {
        "policy_id": props["policy_id"],
        "title": props.get("title"),
        "version": props.get("version"),
        "clauses": [c["text"] for c in ordered],
        "applies_to": {
            "categories": list(props.get("applies_categories") or []),
            "brands": list(props.get("applies_brands") or []),
            "products": list(props.get("applies_products") or []),
        },
        "excludes": {
            "categories": list(props.get("excludes_categories") or []),
            "brands": list(props.get("excludes_brands") or []),
            "products": list(props.get("excludes_products") or []),
        },
        "effective_from": _graph_time(props.get("effective_from")),
        "effective_to": _graph_time(props.get("effective_to")),
    }


def faq_from_graph(props: dict[str, Any]) -> State:
    return {
        "faq_id": props["faq_id"],
        "question": props.get("question"),
        "answer": props.get("answer"),
        "paraphrases": list(props.get("paraphrases") or []),
        "tags": list(props.get("tags") or []),
        "about_product": props.get("about_product"),
        "about_category": props.get("about_category"),
        "about_policy": props.get("about_policy"),
        "origin": props.get("origin"),
    }


def order_from_graph(props: dict[str, Any]) -> State:
    return {
        "order_id": props["order_id"],
        "status": props.get("status"),
        "phone_hash": props.get("phone_hash"),
        "phone_last4": props.get("phone_last4"),
        "user_id": props.get("user_id"),
        "items": json.loads(props.get("items_json") or "[]"),
        "created_at": _graph_time(props.get("created_at")),
        "paid_at": _graph_time(props.get("paid_at")),
        "shipped_at": _graph_time(props.get("shipped_at")),
        "carrier": props.get("carrier"),
        "tracking_no": props.get("tracking_no"),
        "address": props.get("address"),
    }
