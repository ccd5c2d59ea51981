"""Distinct shopper messages for the API benchmark: templates x the demo catalogue.

Owns: a deterministic stream of messages in which no text repeats, so the
encoder's query cache never answers for the model. Three sources, mixed in
the proportions of ``bench/chat_mix.txt`` (a night shift's categories):

* product templates filled with the demo store's product names, aliases,
  colours and sizes (``data/demo/products.jsonl``);
* order templates with the demo orders' numbers (``data/demo/orders.jsonl``);
* the questions of ``chat_mix.txt`` themselves, each with a different
  polite opening or closing every time it comes round again.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
MIX_FILE = Path(__file__).resolve().parent / "chat_mix.txt"

PRODUCT_TEMPLATES = (
    "{p}还有货吗", "{p}{c}的{s}码有货吗", "{p}多少钱", "{p}有{c}的吗", "{p}什么材质的",
    "{p}能七天无理由退货吗", "{p}{s}码还有几件", "{p}保修多久", "{p}有哪些颜色", "{p}哪些尺码有货",
    "{p}{c}还有吗", "{p}质量怎么样", "{p}发什么快递", "{p}适合送人吗", "{p}有优惠吗",
)
ORDER_TEMPLATES = (
    "我的订单{o}到哪了", "订单{o}什么时候发货", "查一下{o}的物流", "{o}这个单子能退吗", "订单号{o}",
)
OPENINGS = ("", "你好，", "请问", "亲，", "麻烦问下，", "在吗？", "客服，", "我想问一下，", "您好，", "那个，")
CLOSINGS = ("", "？", "呢", "啊", "，谢谢", "？急", "。", "呀", "，麻烦了", "？？")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_mix(path: Path = MIX_FILE) -> list[tuple[str, str]]:
    """(category, question) pairs in file order."""
    mix = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, _, question = line.partition("\t")
        mix.append((category.strip(), question.strip()))
    return mix


def _catalogue(data_dir: Path) -> list[tuple[str, list[str], list[str]]]:
    out = []
    for row in _jsonl(data_dir / "products.jsonl"):
        names = [n for n in (row.get("name"), *(row.get("aliases") or [])) if n]
        if not names:
            continue
        variants = [v.get("attributes") or {} for v in row.get("variants") or []]
        colours = sorted({str(a["color"]) for a in variants if a.get("color")}) or [""]
        sizes = sorted({str(a["size"]) for a in variants if a.get("size")}) or ["M"]
        out.append((names, colours, sizes))
    return out  # type: ignore[return-value]


def messages(n: int, *, seed: int = 12, data_dir: Path = DEMO) -> list[tuple[str, str]]:
    """``n`` distinct (category, message) pairs; raises ``ValueError`` when fewer exist."""
    rng = random.Random(seed)
    mix = load_mix()
    catalogue = _catalogue(data_dir)
    orders = [o["order_id"] for o in _jsonl(data_dir / "orders.jsonl")]

    def product_stream() -> Iterator[str]:
        while True:
            names, colours, sizes = rng.choice(catalogue)
            yield rng.choice(PRODUCT_TEMPLATES).format(p=rng.choice(names), c=rng.choice(colours),
                                                       s=rng.choice(sizes))

    def order_stream() -> Iterator[str]:
        while True:
            yield rng.choice(ORDER_TEMPLATES).format(o=rng.choice(orders))

    def mix_stream() -> Iterator[tuple[str, str]]:
        for round_ in itertools.count():
            for category, question in rng.sample(mix, len(mix)):
                opening = OPENINGS[(round_ + len(question)) % len(OPENINGS)]
                closing = CLOSINGS[(round_ // len(OPENINGS)) % len(CLOSINGS)]
                yield category, f"{opening}{question.rstrip('？?')}{closing}" if round_ else question

    products, orders_, mixed = product_stream(), order_stream(), mix_stream()
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"only {len(out)} distinct messages could be generated, {n} asked")
        draw = rng.random()
        if draw < 0.22:
            item = ("product", next(products))
        elif draw < 0.27:
            item = ("order", next(orders_))
        else:
            item = next(mixed)
        if item[1] not in seen:
            seen.add(item[1])
            out.append(item)
    return out
