"""Deterministic generator for the yeban demo store data.

Writes ``data/demo/{products,policies,faq,orders}.jsonl``,
``data/demo/stock_update.csv``, ``data/demo/stock_delta.csv`` and
``data/eval/faq_heldout.jsonl`` from the word lists in ``demo_vocab.py``,
checks its own invariants and prints a JSON summary of counts.

Run from the repository root::

    .venv/bin/python data/generate_demo.py

Every random choice comes from ``random.Random`` instances seeded with
constant strings, so re-running reproduces the files byte for byte.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

try:  # imported as part of the repository (namespace package ``data``)
    from data import demo_vocab as vocab
except ImportError:  # run as a script: data/ is sys.path[0]
    import demo_vocab as vocab

SEED = "yeban-demo-2026"
CST = timezone(timedelta(hours=8))
DATA_DIR = Path(__file__).resolve().parent
DEMO_DIR = DATA_DIR / "demo"
EVAL_DIR = DATA_DIR / "eval"

# The seed example; written verbatim as the first products.jsonl line.
SEED_RECORD_LINE = (
    '{"product_id": "P1001", "attributes": {"size": ["S","M","L"], "color": ["红","蓝"], '
    '"stock": 150}, "faq": [{"q": "如何退货?", "a": "7天内无理由退货..."}]}'
)
FIRST_GENERATED_ID = 1002

# Orders live in October and November 2026; "now" for consistent timestamps.
ORDER_WINDOW_START = datetime(2026, 10, 1, 8, 0, tzinfo=CST)
NOW = datetime(2026, 11, 30, 18, 0, tzinfo=CST)
PROMO_START = datetime(2026, 11, 1, tzinfo=CST)
PROMO_END = datetime(2026, 11, 12, tzinfo=CST)

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class Option:
    """One value on a variant axis: label shown to shoppers, SKU code, price effect."""

    label: str
    code: str
    factor: float = 1.0
    delta: float = 0.0


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def nice_price(x: float) -> float:
    """Round a raw price to a store-looking price (19.9, 59, 299, 1299)."""
    if x < 30:
        return round(math.floor(x) + 0.9, 1)
    if x < 100:
        return float(int(x // 10) * 10 + 9)
    if x < 1000:
        return float(max(round(x / 10), 1) * 10 - 1)
    return float(round(x / 100) * 100 - 1)


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def sentence(parts: list[str]) -> str:
    return "。".join(p.rstrip("。；，") for p in parts if p) + "。"


def pick_ordered(rng: random.Random, pool: list, k: int) -> list:
    """k distinct items of pool, kept in pool order."""
    k = max(1, min(k, len(pool)))
    chosen = set(rng.sample(range(len(pool)), k))
    return [item for i, item in enumerate(pool) if i in chosen]


def option_code(key: str, label: str) -> str:
    if key == "color":
        return vocab.COLOR_CODES[label]
    if key == "size":
        return "F" if label == "均码" else label
    if key == "storage":
        return label.replace("GB", "G").replace("TB", "T")
    raise ValueError(f"no derived code for {key}={label}")


# --------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------


def core_spec(leaf: dict, core: tuple, brand: str, suffix: str) -> dict:
    name, aliases, material, feature = core[:4]
    extra = core[4] if len(core) > 4 else {}
    alias_list = aliases.split("|")
    full_name = f"{brand} {name}" + (f" {suffix}" if suffix else "")
    return {
        "core": name,
        "name": full_name,
        "brand": brand,
        "material": material,
        "feature": feature,
        "aliases": dedupe(alias_list + [brand + alias_list[0]]),
        **extra,
    }


def leaf_specs(leaf: dict, rng: random.Random) -> list[dict]:
    """Product specs for one category leaf: fixed entries first, then brand x core pairs."""
    cores = {c[0]: c for c in leaf.get("cores", [])}
    specs, used = [], set()
    for fixed in leaf.get("fixed", []):
        if "core" in fixed:
            spec = core_spec(leaf, cores[fixed["core"]], fixed["brand"], fixed.get("suffix", ""))
            spec.update({k: v for k, v in fixed.items() if k not in ("core", "suffix", "brand")})
            used.add((fixed["core"], fixed["brand"]))
        else:
            spec = dict(fixed)
        specs.append(spec)
    pairs = [(c, b) for c in cores for b in leaf.get("brands", []) if (c, b) not in used]
    rng.shuffle(pairs)
    # Every core appears once before any core repeats with a second brand.
    seen = Counter(core for core, _ in used)
    ranked = []
    for core_name, brand in pairs:
        ranked.append((seen[core_name], core_name, brand))
        seen[core_name] += 1
    ranked.sort(key=lambda r: r[0])
    for _, core_name, brand in ranked[: leaf["count"] - len(specs)]:
        suffix = rng.choice(leaf.get("suffixes", [""]))
        specs.append(core_spec(leaf, cores[core_name], brand, suffix))
    return specs


def build_axes(leaf: dict, spec: dict, rng: random.Random) -> list[tuple[str, list[Option]]]:
    kind, axes = leaf["kind"], []
    if kind == "makeup":
        shades = pick_ordered(rng, leaf["shades"], rng.randint(3, 5))
        axes.append(("color", [Option(label, code) for label, code in shades]))
    elif "colors" in spec and kind != "apparel":
        axes.append(("color", [Option(c, option_code("color", c)) for c in spec["colors"]]))
    elif "colors" in spec or "colors" in leaf:
        pool = spec.get("colors", leaf["colors"])
        low, high = (2, 4) if kind in ("apparel", "shoes") else (1, 3)
        colors = pick_ordered(rng, pool, rng.randint(low, high))
        axes.append(("color", [Option(c, option_code("color", c)) for c in colors]))
    if kind == "apparel":
        sizes = spec.get("sizes", leaf["sizes"])
        axes.append(("size", [Option(s, option_code("size", s)) for s in sizes]))
    elif kind == "shoes":
        low, high = vocab.SHOE_SIZES[spec.get("gender", "U")]
        axes.append(("size", [Option(str(n), str(n)) for n in range(low, high + 1)]))
    if "storages" in spec:
        base = min(p for _, p in spec["storages"])
        axes.append(
            ("storage", [Option(s, option_code("storage", s), delta=p - base) for s, p in spec["storages"]])
        )
    specs = spec.get("specs", leaf.get("specs"))
    if specs:
        chosen = specs if len(specs) <= 2 else pick_ordered(rng, specs, rng.randint(2, len(specs)))
        axes.append(("spec", [Option(label, code, factor=f) for label, code, f in chosen]))
    versions = spec.get("versions")
    if versions:
        axes.append(("version", [Option(label, code, delta=d) for label, code, d in versions]))
    return axes


def base_price(leaf: dict, spec: dict, rng: random.Random) -> float:
    if "storages" in spec:
        return min(p for _, p in spec["storages"])
    if "price" in spec:
        return float(spec["price"])
    low, high = vocab.CORE_PRICE_RANGES.get(spec.get("core"), leaf["price"])
    return nice_price(rng.uniform(low, high))


def build_variants(pid: str, kind: str, axes, price: float, rng: random.Random) -> list[dict]:
    variants = []
    low, high = vocab.STOCK_RANGES[kind]
    for combo in itertools.product(*(opts for _, opts in axes)):
        factor = math.prod(o.factor for o in combo)
        delta = sum(o.delta for o in combo)
        v_price = price if (factor == 1.0 and delta == 0) else nice_price(price * factor + delta)
        roll = rng.random()
        if roll < vocab.SOLD_OUT_RATE:
            stock = 0
        elif roll < vocab.SOLD_OUT_RATE + vocab.LOW_STOCK_RATE:
            stock = rng.randint(1, 5)
        else:
            stock = rng.randint(low, high)
        variants.append(
            {
                "sku": "-".join([pid] + [o.code for o in combo]),
                "attributes": {key: o.label for (key, _), o in zip(axes, combo, strict=True)},
                "stock": stock,
                "price": v_price,
            }
        )
    return variants


def describe(leaf: dict, spec: dict, rng: random.Random) -> str:
    kind = leaf["kind"]
    parts = [spec["material"], spec["feature"], rng.choice(leaf["points"])]
    if kind == "apparel":
        if spec.get("sizes") == vocab.FREE_SIZE:
            parts.append(vocab.FREE_SIZE_NOTE)
        elif leaf.get("model"):
            parts.append(rng.choice(vocab.MODEL_NOTES[leaf["model"]]))
        parts.append(leaf["care"])
    else:
        parts.append(rng.choice(leaf.get("tails", vocab.KIND_TAILS[kind])))
    return sentence(parts)


def build_products() -> list[dict]:
    rng = random.Random(f"{SEED}-products")
    products, next_id = [], FIRST_GENERATED_ID
    for leaf in vocab.ALL_LEAVES:
        for spec in leaf_specs(leaf, rng):
            pid = f"P{next_id}"
            next_id += 1
            price = base_price(leaf, spec, rng)
            variants = build_variants(pid, leaf["kind"], build_axes(leaf, spec, rng), price, rng)
            if spec["name"] in vocab.FULLY_SOLD_OUT_PRODUCTS:
                for v in variants:
                    v["stock"] = 0
            products.append(
                {
                    "product_id": pid,
                    "name": spec["name"],
                    "brand": spec["brand"],
                    "category": leaf["path"],
                    "price": min(v["price"] for v in variants),
                    "description": describe(leaf, spec, rng),
                    "aliases": spec["aliases"],
                    "variants": variants,
                    "policies": [],
                    "faq": spec.get("faq", []),
                    "_kind": leaf["kind"],
                }
            )
    by_name = {p["name"]: p for p in products}
    for name in vocab.PRESALE_PRODUCT_NAMES:
        by_name[name]["policies"].append("POL-PRESALE")
    for name in vocab.CLEARANCE_PRODUCT_NAMES:
        by_name[name]["policies"].append("POL-RETURN-EXCEPTIONS")
    return products


# --------------------------------------------------------------------------
# Policies and FAQ
# --------------------------------------------------------------------------


def build_policies(name_to_id: dict[str, str]) -> list[dict]:
    def scope(raw: dict | None) -> dict:
        raw = raw or {}
        return {
            "categories": list(raw.get("categories", [])),
            "brands": list(raw.get("brands", [])),
            "products": [name_to_id[n] for n in raw.get("products", [])],
        }

    return [
        {
            "policy_id": p["policy_id"],
            "title": p["title"],
            "version": p["version"],
            "clauses": [{"text": t} for t in p["clauses"]],
            "applies_to": scope(p["applies_to"]),
            "excludes": scope(p.get("excludes")),
            "effective_from": p["effective_from"],
            "effective_to": p["effective_to"],
        }
        for p in vocab.POLICIES
    ]


def resolve_about(about: str, name_to_id: dict[str, str]) -> dict:
    if not about:
        return {}
    kind, _, value = about.partition(":")
    if kind == "policy":
        return {"policy_id": value}
    if kind == "category":
        return {"category": value}
    if kind == "product":
        return {"product_id": name_to_id[value]}
    raise ValueError(f"bad FAQ about: {about}")


def build_faq(name_to_id: dict[str, str]) -> tuple[list[dict], list[dict]]:
    faq, heldout = [], []
    entries = itertools.chain.from_iterable(vocab.FAQ_GROUPS)
    for n, (tags, about, question, answer, paraphrases, held) in enumerate(entries, start=1):
        faq_id = f"FAQ-{n:04d}"
        faq.append(
            {
                "faq_id": faq_id,
                "question": question,
                "answer": answer,
                "paraphrases": paraphrases.split("|"),
                "tags": tags.split(),
                "about": resolve_about(about, name_to_id),
            }
        )
        heldout.extend({"faq_id": faq_id, "query": q} for q in held.split("|"))
    return faq, heldout


# --------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------


def make_customers(rng: random.Random, n: int) -> list[tuple[str, str]]:
    phones, customers = set(), []
    while len(customers) < n:
        phone = rng.choice(vocab.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if phone in phones:
            continue
        phones.add(phone)
        customers.append((phone, make_address(rng)))
    return customers


def make_address(rng: random.Random) -> str:
    province, city, district, streets = rng.choice(vocab.ADDRESS_AREAS)
    head = province + ("" if city == province else city) + district
    street = f"{rng.choice(streets)}{rng.randint(1, 688)}号"
    building = rng.choice(vocab.ADDRESS_BUILDINGS)
    if building.endswith(("大厦", "广场", "产业园")):
        tail = f"{building}{rng.choice('ABC')}座{rng.randint(3, 28)}{rng.randint(1, 20):02d}室"
    else:
        tail = f"{building}{rng.randint(1, 24)}幢{rng.randint(1, 4)}单元{rng.randint(1, 32)}{rng.randint(1, 4):02d}室"
    return head + street + tail


def tracking_number(rng: random.Random, carrier: str) -> str:
    prefix, digits = vocab.CARRIERS[carrier]
    return prefix + "".join(str(rng.randrange(10)) for _ in range(digits))


def choose_carrier(rng: random.Random, items: list[dict], total: float) -> str:
    categories = [i["category"] for i in items]
    if any(c.startswith("家用电器/大家电") for c in categories):
        return "京东物流"
    fresh = any(c.startswith(tuple(vocab.FRESH_CATEGORIES)) for c in categories)
    if fresh or total >= 199 or any(i["kind"] in vocab.HIGH_VALUE_KINDS for i in items) or rng.random() < 0.1:
        return "顺丰速运"
    return rng.choice(["中通快递", "韵达快递"])


def random_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """Uniform time in [start, end), re-drawn a few times to avoid 01:00-07:00."""
    seconds = max(int((end - start).total_seconds()), 1)
    for _ in range(4):
        dt = start + timedelta(seconds=rng.randrange(seconds))
        if not 1 <= dt.hour < 7:
            break
    return dt


def warehouse_hours(rng: random.Random, dt: datetime) -> datetime:
    """Move a shipping time into the warehouse's 08:00-22:00 working day."""
    if dt.hour < 8:
        return dt.replace(hour=8, minute=0, second=0) + timedelta(minutes=rng.randint(0, 180))
    if dt.hour >= 22:
        next_day = (dt + timedelta(days=1)).replace(hour=8, minute=0, second=0)
        return next_day + timedelta(minutes=rng.randint(0, 180))
    return dt


def order_times(rng: random.Random, status: str) -> tuple[datetime, datetime | None, datetime | None]:
    """created_at, paid_at, shipped_at consistent with the status and with NOW."""
    day = timedelta(days=1)
    windows = {
        "待付款": (NOW - timedelta(minutes=28), NOW - timedelta(minutes=1)),
        "已付款": (NOW - timedelta(hours=40), NOW - timedelta(minutes=20)),
        "已发货": (NOW - 5 * day, NOW - day),
        "已签收": (ORDER_WINDOW_START, NOW - 4 * day),
        "已取消": (ORDER_WINDOW_START, NOW - day),
        "退款中": (NOW - 14 * day, NOW - day),
        "已退款": (ORDER_WINDOW_START, NOW - 5 * day),
    }
    created = random_between(rng, *windows[status])
    paid = shipped = None
    paid_statuses = {"已付款", "已发货", "已签收", "退款中", "已退款"}
    if status in paid_statuses or (status == "已取消" and rng.random() < 0.3):
        paid = created + timedelta(seconds=rng.randint(20, 900))
    shipped_statuses = {"已发货", "已签收"}
    if status in shipped_statuses or (status in ("退款中", "已退款") and rng.random() < 0.55):
        max_hours = 70 if PROMO_START <= paid < PROMO_END else 46
        shipped = warehouse_hours(rng, paid + timedelta(minutes=rng.randint(90, max_hours * 60)))
        shipped = min(shipped, NOW - timedelta(hours=3, minutes=rng.randint(0, 120)))
    return created, paid, shipped


def pick_items(rng: random.Random, products: list[dict], in_stock_only: bool) -> list[dict]:
    items, seen = [], set()
    for _ in range(rng.choices([1, 2, 3], weights=[62, 28, 10])[0]):
        product = rng.choice(products)
        variants = [v for v in product["variants"] if v["stock"] > 0 or not in_stock_only]
        if not variants:
            continue
        variant = rng.choice(variants)
        if variant["sku"] in seen:
            continue
        seen.add(variant["sku"])
        cheap = variant["price"] < 150 and product["_kind"] in ("apparel", "food", "beauty")
        qty = rng.choices([1, 2, 3], weights=[70, 22, 8])[0] if cheap else 1
        items.append(
            {
                "sku": variant["sku"],
                "qty": qty,
                "price": variant["price"],
                "category": product["category"],
                "kind": product["_kind"],
            }
        )
    return items or pick_items(rng, products, in_stock_only)


def build_orders(products: list[dict]) -> list[dict]:
    rng = random.Random(f"{SEED}-orders")
    sellable = [p for p in products if p["variants"]]
    customers = make_customers(rng, 150)
    weights = [3 if i < 25 else 1 for i in range(len(customers))]  # some repeat buyers
    orders, ids = [], set()
    for status, count in vocab.ORDER_STATUS_COUNTS.items():
        for _ in range(count):
            created, paid, shipped = order_times(rng, status)
            items = pick_items(rng, sellable, in_stock_only=status in ("待付款", "已付款"))
            total = sum(i["price"] * i["qty"] for i in items)
            phone, address = rng.choices(customers, weights=weights)[0]
            if rng.random() < 0.08:
                address = make_address(rng)
            order_id = created.strftime("%Y%m%d") + f"{rng.randrange(10**8):08d}"
            while order_id in ids:
                order_id = created.strftime("%Y%m%d") + f"{rng.randrange(10**8):08d}"
            ids.add(order_id)
            carrier = choose_carrier(rng, items, total) if shipped else None
            orders.append(
                {
                    "order_id": order_id,
                    "phone": phone,
                    "status": status,
                    "items": [{"sku": i["sku"], "qty": i["qty"]} for i in items],
                    "created_at": iso(created),
                    "paid_at": iso(paid) if paid else None,
                    "shipped_at": iso(shipped) if shipped else None,
                    "carrier": carrier,
                    "tracking_no": tracking_number(rng, carrier) if carrier else None,
                    "address": address,
                }
            )
    orders.sort(key=lambda o: (o["created_at"], o["order_id"]))
    return orders


# --------------------------------------------------------------------------
# Stock files
# --------------------------------------------------------------------------


def build_stock_files(products: list[dict]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Warehouse snapshot rows (sku, stock) and movement rows (sku, delta), disjoint skus."""
    rng = random.Random(f"{SEED}-stock")
    variants = [v for p in products for v in p["variants"]]
    sold_out = [v for v in variants if v["stock"] == 0]
    in_stock = [v for v in variants if v["stock"] > 0]
    restock = rng.sample(sold_out, 6)
    rest = rng.sample(in_stock, 44)
    updates = [(v["sku"], rng.choice([24, 36, 48, 60, 120])) for v in restock]
    updates += [(v["sku"], 0) for v in rest[:4]]
    updates += [(v["sku"], max(0, v["stock"] + rng.randint(-15, 40))) for v in rest[4:24]]
    deltas = [(v["sku"], rng.choice([12, 20, 30, 50, 100])) for v in rest[24:34]]
    deltas += [(v["sku"], -rng.randint(1, min(v["stock"], 8))) for v in rest[34:44]]
    order = {v["sku"]: n for n, v in enumerate(variants)}
    return sorted(updates, key=lambda r: order[r[0]]), sorted(deltas, key=lambda r: order[r[0]])


# --------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------


def check_products(products: list[dict]) -> None:
    ids = [p["product_id"] for p in products]
    assert ids == [f"P{FIRST_GENERATED_ID + i}" for i in range(len(ids))], "ids not sequential"
    names = [p["name"] for p in products]
    assert len(set(names)) == len(names), "duplicate product names"
    skus = [v["sku"] for p in products for v in p["variants"]]
    assert len(set(skus)) == len(skus), "duplicate skus"
    for p in products:
        assert p["variants"], p["name"]
        assert isinstance(p["price"], float) and p["price"] > 0, p["name"]
        assert p["aliases"] and p["description"].endswith("。"), p["name"]
        for v in p["variants"]:
            assert set(v["attributes"]) <= vocab.ATTRIBUTE_KEYS[p["_kind"]], (p["name"], v["attributes"])
            assert v["stock"] >= 0 and isinstance(v["price"], float) and v["price"] > 0
    assert len(products) + 1 >= vocab.MINIMA["products"]
    assert len({p["category"].split("/")[0] for p in products}) >= vocab.MINIMA["top_categories"]
    assert all(2 <= len(p["category"].split("/")) <= 3 for p in products)
    assert len(skus) >= vocab.MINIMA["variants"]


def check_policies(policies: list[dict], products: list[dict]) -> None:
    ids = [p["policy_id"] for p in policies]
    assert len(set(ids)) == len(ids) >= vocab.MINIMA["policies"]
    assert sum(len(p["clauses"]) for p in policies) >= vocab.MINIMA["clauses"]
    categories = {p["category"] for p in products}
    brands = {p["brand"] for p in products}
    product_ids = {p["product_id"] for p in products}
    for pol in policies:
        assert 4 <= len(pol["clauses"]) <= 8, pol["policy_id"]
        for scope in (pol["applies_to"], pol["excludes"]):
            for prefix in scope["categories"]:
                assert any(c == prefix or c.startswith(prefix + "/") for c in categories), prefix
            assert set(scope["brands"]) <= brands and set(scope["products"]) <= product_ids
    for p in products:
        assert set(p["policies"]) <= set(ids), p["name"]


def check_faq(faq: list[dict], heldout: list[dict], products, policies) -> None:
    ids = [f["faq_id"] for f in faq]
    assert len(set(ids)) == len(ids) >= vocab.MINIMA["faq"]
    texts = [t for f in faq for t in [f["question"], *f["paraphrases"]]]
    assert len(set(texts)) == len(texts), "duplicate FAQ question/paraphrase text"
    categories = {p["category"] for p in products}
    policy_ids = {p["policy_id"] for p in policies}
    product_ids = {p["product_id"] for p in products}
    for f in faq:
        assert len(f["paraphrases"]) >= 3 and len(set(f["paraphrases"])) == len(f["paraphrases"])
        about = f["about"]
        assert about.get("policy_id", next(iter(policy_ids))) in policy_ids, f["faq_id"]
        assert about.get("product_id", next(iter(product_ids))) in product_ids, f["faq_id"]
        if "category" in about:
            assert any(c == about["category"] or c.startswith(about["category"] + "/") for c in categories), (
                f["faq_id"]
            )
    per_faq = Counter(h["faq_id"] for h in heldout)
    assert all(1 <= per_faq[i] <= 2 for i in ids), "each FAQ needs 1-2 held-out queries"
    queries = [h["query"] for h in heldout]
    assert len(set(queries)) == len(queries) and not set(queries) & set(texts)


def check_orders(orders: list[dict], products: list[dict]) -> None:
    skus = {v["sku"] for p in products for v in p["variants"]}
    ids = [o["order_id"] for o in orders]
    assert len(set(ids)) == len(ids) >= vocab.MINIMA["orders"]
    assert set(o["status"] for o in orders) == set(vocab.ORDER_STATUS_COUNTS)
    for o in orders:
        assert re.fullmatch(r"2026(10|11)\d{10}", o["order_id"]), o["order_id"]
        assert o["order_id"][:8] == o["created_at"][:10].replace("-", "")
        assert MOBILE_RE.match(o["phone"]), o["phone"]
        assert o["items"] and all(i["sku"] in skus and i["qty"] >= 1 for i in o["items"])
        created = datetime.fromisoformat(o["created_at"])
        assert ORDER_WINDOW_START <= created <= NOW
        paid = o["paid_at"] and datetime.fromisoformat(o["paid_at"])
        shipped = o["shipped_at"] and datetime.fromisoformat(o["shipped_at"])
        status = o["status"]
        if status == "待付款":
            assert paid is None
        elif status != "已取消":
            assert paid is not None, o["order_id"]
        if status in ("已发货", "已签收"):
            assert shipped and o["tracking_no"] and o["carrier"]
        if status in ("待付款", "已付款", "已取消"):
            assert shipped is None and o["tracking_no"] is None and o["carrier"] is None
        if shipped:
            assert created < paid < shipped <= NOW and o["tracking_no"] and o["carrier"]
        elif paid:
            assert created < paid <= NOW


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def dump(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False)


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="\n")


def public(product: dict) -> dict:
    return {k: v for k, v in product.items() if not k.startswith("_")}


def summarize(products, policies, faq, heldout, orders, updates, deltas) -> dict:
    variants = [v for p in products for v in p["variants"]]
    status_counts = Counter(o["status"] for o in orders)
    return {
        "products": len(products) + 1,
        "products_with_variants": len(products),
        "top_categories": len({p["category"].split("/")[0] for p in products}),
        "leaf_categories": len({p["category"] for p in products}),
        "brands": len({p["brand"] for p in products}),
        "variants": len(variants),
        "sold_out_variants": sum(1 for v in variants if v["stock"] == 0),
        "low_stock_variants_1_to_5": sum(1 for v in variants if 1 <= v["stock"] <= 5),
        "policies": len(policies),
        "clauses": sum(len(p["clauses"]) for p in policies),
        "faq": len(faq),
        "paraphrases": sum(len(f["paraphrases"]) for f in faq),
        "heldout_queries": len(heldout),
        "orders": len(orders),
        "orders_by_status": {s: status_counts[s] for s in vocab.ORDER_STATUS_COUNTS},
        "stock_update_rows": len(updates),
        "stock_delta_rows": len(deltas),
    }


def main() -> None:
    products = build_products()
    name_to_id = {p["name"]: p["product_id"] for p in products}
    policies = build_policies(name_to_id)
    faq, heldout = build_faq(name_to_id)
    orders = build_orders(products)
    updates, deltas = build_stock_files(products)

    check_products(products)
    check_policies(policies, products)
    check_faq(faq, heldout, products, policies)
    check_orders(orders, products)
    skus = {v["sku"] for p in products for v in p["variants"]}
    assert {s for s, _ in updates + deltas} <= skus

    write_lines(DEMO_DIR / "products.jsonl", [SEED_RECORD_LINE] + [dump(public(p)) for p in products])
    write_lines(DEMO_DIR / "policies.jsonl", [dump(p) for p in policies])
    write_lines(DEMO_DIR / "faq.jsonl", [dump(f) for f in faq])
    write_lines(DEMO_DIR / "orders.jsonl", [dump(o) for o in orders])
    write_lines(DEMO_DIR / "stock_update.csv", ["sku,stock"] + [f"{s},{n}" for s, n in updates])
    write_lines(DEMO_DIR / "stock_delta.csv", ["sku,delta"] + [f"{s},{d}" for s, d in deltas])
    write_lines(EVAL_DIR / "faq_heldout.jsonl", [dump(h) for h in heldout])

    summary = summarize(products, policies, faq, heldout, orders, updates, deltas)
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
