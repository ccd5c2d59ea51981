"""Deterministic store conversation tests for the demo store, read from its own data.

Writes ``data/demo/store_cases.jsonl`` and ``data/demo/store_dialogs.jsonl`` in the
format ``python -m dialog.store_test`` runs (README, "Store conversation tests"),
so the demo store is measured exactly like any other store. Every expected fact
(stock after the demo's stock files, prices, FAQ numbers, order status and
tracking number) is read from ``data/demo/*``; nothing is typed in by hand.

Run from the repository root::

    .venv/bin/python data/generate_store_cases.py
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parent / "demo"
_FACT = re.compile(r"\d+(?:[:：.]\d+)?(?:小时|天|元|个工作日|:00)?")
_ORDER_WORDS = {"已发货": ["已发货", "运输", "发货"], "已签收": ["已签收", "签收"], "已付款": ["已付款", "待发货", "未发货"],
                "待付款": ["待付款", "未付款"], "已取消": ["已取消", "取消"], "退款中": ["退款中", "退款"],
                "已退款": ["已退款", "退款"]}


def _jsonl(name: str) -> list[dict[str, Any]]:
    with (DEMO / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def final_stock(products: list[dict[str, Any]]) -> dict[str, int]:
    """Variant stock after the demo's stock files, applied in load order (sorted names)."""
    stock = {v["sku"]: v["stock"] for p in products for v in p.get("variants", [])}
    for path in sorted(DEMO.glob("stock*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                if "delta" in row:
                    stock[row["sku"]] += int(row["delta"])
                else:
                    stock[row["sku"]] = int(row["stock"])
    return stock


def _label(attributes: dict[str, str]) -> str:
    return "".join(attributes.values())


def _stock_forms(n: int) -> list[str]:
    return [f"{n} 件", f"{n}件"] if n else ["售罄", "没有货", "没货", "缺货", "卖完"]


def stock_cases(products: list[dict[str, Any]], stock: dict[str, int], rng: random.Random) -> list[dict]:
    named = [p for p in products if p.get("name") and len(p.get("variants", [])) >= 2]
    out = []
    for n, p in enumerate(rng.sample(named, min(30, len(named))), start=1):
        v = rng.choice(p["variants"])
        siblings = {stock[s["sku"]] for s in p["variants"] if s["sku"] != v["sku"]} - {stock[v["sku"]]}
        out.append({"id": f"DS{n:03d}", "question": f"{p['name']}{_label(v['attributes'])}还有几件",
                    "expected_intent": "stock_check", "must_contain_any": [_stock_forms(stock[v["sku"]])],
                    # A sibling's count is a distractor unless it is the tail of the right one (2 in 12).
                    "must_not_contain": [f"{s} 件" for s in sorted(siblings)
                                         if s and not str(stock[v["sku"]]).endswith(str(s))][:3],
                    "notes": f"[graph] src={v['sku']}"})
    return out


def price_cases(products: list[dict[str, Any]], rng: random.Random) -> list[dict]:
    single = [p for p in products if p.get("name") and p.get("price") is not None
              and len({v.get("price", p["price"]) for v in p.get("variants", [])} | {p["price"]}) == 1]
    return [{"id": f"DP{n:03d}", "question": f"{p['name']}多少钱", "expected_intent": "price_promotion",
             "must_contain_any": [[f"{p['price']:g}"]], "notes": f"[graph] src={p['product_id']}"}
            for n, p in enumerate(rng.sample(single, min(15, len(single))), start=1)]


def faq_cases(faqs: list[dict[str, Any]], rng: random.Random) -> list[dict]:
    out = []
    for faq in rng.sample(faqs, min(30, len(faqs))):
        fact = _FACT.search(faq["answer"])
        if not fact or not faq.get("paraphrases"):
            continue
        out.append({"id": f"DF{len(out) + 1:03d}", "question": faq["paraphrases"][-1],
                    "must_contain_any": [[fact.group(0)]], "notes": f"[faq] src={faq['faq_id']}"})
    return out


def other_cases() -> list[dict]:
    return [{"id": "DO001", "question": "你好", "expected_intent": "greeting", "notes": "[other]"},
            {"id": "DO002", "question": "好的谢谢，再见", "expected_intent": "goodbye", "notes": "[other]"},
            {"id": "DO003", "question": "转人工", "expected_intent": "human_agent", "notes": "[other]"}]


def order_dialogs(orders: list[dict[str, Any]], rng: random.Random) -> list[dict]:
    out = []
    for n, o in enumerate(rng.sample([o for o in orders if o.get("tracking_no")], 10), start=1):
        last4 = o["phone"][-4:]
        wrong = f"{(int(last4) + 1111) % 10000:04d}"
        out.append({"id": f"DD{n:02d}", "description": "order lookup, wrong then right last four digits",
                    "turns": [
                        {"user": f"我的订单{o['order_id']}到哪了", "expect_intent": "order_status",
                         "must_not_contain": [o["tracking_no"]]},
                        {"user": wrong, "must_not_contain": [o["tracking_no"]]},
                        {"user": last4, "must_contain_any": [_ORDER_WORDS[o["status"]], [o["tracking_no"]]]},
                    ]})
    return out


def handoff_dialog() -> dict:
    return {"id": "DD90", "description": "anger escalating to a hand-off", "turns": [
        {"user": "你们这发货也太慢了吧"},
        {"user": "什么破店！！！我要投诉你们，给我转人工", "expect_handoff": True}]}


def main() -> int:
    rng = random.Random("yeban-store-cases")
    products, faqs, orders = _jsonl("products.jsonl"), _jsonl("faq.jsonl"), _jsonl("orders.jsonl")
    stock = final_stock(products)
    cases = stock_cases(products, stock, rng) + price_cases(products, rng) + faq_cases(faqs, rng) + other_cases()
    dialogs = order_dialogs(orders, rng) + [handoff_dialog()]
    for name, rows in (("store_cases.jsonl", cases), ("store_dialogs.jsonl", dialogs)):
        (DEMO / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(json.dumps({"cases": len(cases), "dialogs": len(dialogs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
