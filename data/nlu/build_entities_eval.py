"""Build ``entities_eval.jsonl``: shopper messages with gold entity links.

Owns: the entity-linking evaluation set. Messages are generated from
``data/demo/products.jsonl`` and ``data/demo/orders.jsonl`` with the noise
shoppers add: aliases, names without the brand, pinyin, homophone typos
(星曜 for 星耀), dropped or swapped characters, full-width letters, upper/lower
case and spaces in model numbers, colloquial sizes (加大号, 37码) and colours
(酒红的, 藏青), order numbers written in groups, phones and 尾号. A fixed
list of messages that mention nothing is appended.

Gold is computed here from the raw records, independently of the linker:
a product mention's gold is the set of products whose name, alias or name
without brand has the same key as the clean mention (several ids when the
catalogue itself is ambiguous, e.g. two dresses share the alias 茶歇裙). An
alias that is also a category name (微波炉) is never used as a product
mention: such a word names the category.

Row shape::

    {"id": "E0001", "text": "...", "noise": ["pinyin"],
     "entities": [{"type": "product", "value": "P1201"},
                  {"type": "product", "value": "P1003", "candidates": ["P1010"]}]}

Run: ``.venv/bin/python data/nlu/build_entities_eval.py [--seed N] [--out FILE]``
(deterministic for a seed; the committed file uses the default seed).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from pypinyin import Style, lazy_pinyin

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "demo"
OUTPUT = HERE / "entities_eval.jsonl"
SEED = 20261125

# Common IME homophone slips; pairs with different toneless pinyin are dropped at run time.
HOMOPHONES = {"耀": "曜", "裙": "群", "衣": "依", "板": "版", "机": "几", "鞋": "协", "霜": "双",
              "膜": "模", "壶": "湖", "锅": "郭", "耳": "尔", "表": "标", "精": "晶", "乳": "汝",
              "器": "气", "扇": "善", "风": "峰", "吹": "垂", "衫": "山", "裤": "库", "袜": "瓦",
              "帽": "冒", "枕": "诊", "蟹": "谢", "茶": "查", "油": "由", "霸": "坝", "凉": "良"}
COLOR_WORDS = {"酒红色": ["酒红", "酒红的", "枣红"], "藏青色": ["藏青", "海军蓝"], "深蓝色": ["深蓝"],
               "黑色": ["黑的", "纯黑"], "白色": ["白的", "纯白"], "米白色": ["米白"], "浅灰色": ["浅灰"],
               "深灰色": ["深灰"], "卡其色": ["卡其"], "墨绿色": ["墨绿"], "军绿色": ["军绿"],
               "浅粉色": ["浅粉"], "浅蓝色": ["浅蓝"], "咖啡色": ["咖啡色的"]}
SIZE_WORDS = {"XL": ["加大号", "加大码", "xl码", "ＸＬ"], "XXL": ["特大号", "xxl", "2xl"], "L": ["大号", "L码"],
              "M": ["中号", "m码"], "S": ["小号", "s码"], "均码": ["均码", "free size"]}
NO_ENTITY = [
    "在吗", "你好 有人吗", "怎么退货", "退款多久到账", "运费谁出", "能开发票吗 要专票", "支持花呗分期吗",
    "发货了没", "快递到哪了", "我要投诉", "转人工", "什么破服务", "谢谢 没问题了", "能便宜点吗",
    "有优惠券吗", "会员积分怎么用", "七天无理由退换吗", "拆封了还能退不", "地址写错了能改吗",
    "拍错了帮我取消一下", "保修多久", "坏了能修吗", "安装收费吗", "少发了一件", "赠品没收到",
    "降价了能补差价吗", "几天能到", "能发顺丰吗", "偏大还是偏小", "我平时穿多大码", "尺码表发一下",
    "今天天气怎么样", "给我讲个笑话", "你是机器人吗", "好的知道了", "88", "物流三天没动了",
    "怎么还不发货", "退货地址是哪", "换货要多久", "发票抬头写错了", "付款失败怎么办", "扣了两次钱",
    "上门取件吗", "你们几点下班", "质量太差了", "东西收到了 挺好的", "可以货到付款吗", "包邮吗",
    "怎么联系你们", "有没有更便宜的", "能不能快点发", "我的订单呢", "订单显示已取消咋回事",
    "退款中是什么意思", "能改成公司地址吗", "要怎么申请售后", "客服电话多少", "能加急吗", "算了不要了",
]


def key(text: str) -> str:
    """Half-width, lower case, no spaces: how the gold compares surfaces."""
    out = []
    for ch in text:
        code = ord(ch)
        out.append(chr(code - 0xFEE0) if 0xFF01 <= code <= 0xFF5E else ch)
    return re.sub(r"\s+", "", "".join(out)).lower()


def has_cjk(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def product_mentions(p: dict) -> list[str]:
    """Ways a shopper names one product: aliases, name without brand, its core, the name."""
    parts = p["name"].split()
    forms = list(p.get("aliases", []))
    if len(parts) >= 2 and parts[0] == p.get("brand"):
        rest = parts[1:]
        forms.append(" ".join(rest) if not has_cjk(rest[0]) or len(rest) == 1 else rest[0])
        if has_cjk(rest[0]) and len(rest[0]) >= 3:
            forms.append(parts[0] + rest[0])
    forms.append(p["name"])
    return list(dict.fromkeys(forms))


def gold_index(products: list[dict]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = defaultdict(set)
    for p in products:
        for form in product_mentions(p):
            index[key(form)].add(p["product_id"])
    return index


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def to_pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text, style=Style.NORMAL))


def homophone(text: str, rng: random.Random) -> str | None:
    spots = [i for i, c in enumerate(text) if c in HOMOPHONES
             and to_pinyin(c) == to_pinyin(HOMOPHONES[c])]
    if not spots:
        return None
    i = rng.choice(spots)
    return text[:i] + HOMOPHONES[text[i]] + text[i + 1:]


def typo(text: str, rng: random.Random) -> str | None:
    """Swap two adjacent letters of a model number, or drop one character of a long CJK name."""
    m = re.search(r"[A-Za-z0-9]{4,}", text)
    if m and rng.random() < 0.5:
        i = rng.randrange(m.start(), m.end() - 1)
        if text[i] != text[i + 1]:
            return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    cjk = [i for i, c in enumerate(text) if has_cjk(c)]
    if len(cjk) >= 5:
        i = rng.choice(cjk[1:-1])
        return text[:i] + text[i + 1:]
    return None


def case_and_space(text: str, rng: random.Random) -> str | None:
    if not re.search(r"[A-Za-z]", text):
        return None
    s = text.upper() if rng.random() < 0.5 else text.lower()
    return s.replace(" ", "") if " " in s else re.sub(r"(?<=[A-Za-z])(?=\d)", " ", s, count=1)


NOISES = ("clean", "case", "fullwidth", "pinyin", "homophone", "typo")


def noisy(mention: str, noise: str, rng: random.Random) -> str | None:
    if noise == "clean":
        return mention
    if noise == "case":
        return case_and_space(mention, rng)
    if noise == "fullwidth":
        return full_width(mention) if re.search(r"[A-Za-z0-9]", mention) else None
    if noise == "pinyin":
        cjk = sum(1 for c in mention if has_cjk(c))
        return to_pinyin(mention).replace(" ", "") if 2 <= cjk <= 6 else None
    if noise == "homophone":
        return homophone(mention, rng)
    return typo(mention, rng)


PRODUCT_TEMPLATES = ["{p}有货吗", "{p}多少钱", "请问{p}是什么材质的", "{p}还有吗亲", "我买的{p}想退",
                     "{p}什么时候发货", "想问下{p}保修多久", "{p}能便宜点不", "有{p}吗", "{p}怎么用"]
ATTR_TEMPLATES = ["{p}{a}的还有吗", "{p} {a}有货吗", "{a}的{p}多少钱", "我要{p} {a}", "{p}有没有{a}"]


def gold_product(ids: set[str], p_id: str) -> dict:
    others = sorted(ids - {p_id})
    return {"type": "product", "value": p_id, **({"candidates": others} if others else {})}


def build(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    products = [json.loads(line) for line in (DEMO / "products.jsonl").open(encoding="utf-8")]
    products = [p for p in products if p.get("name")]
    orders = [json.loads(line) for line in (DEMO / "orders.jsonl").open(encoding="utf-8")]
    gold = gold_index(products)
    rows: list[dict] = []

    def add(text: str, entities: list[dict], noise: list[str]) -> None:
        rows.append({"text": text, "entities": entities, "noise": noise})

    category_names = {key(part) for p in products for part in p["category"].split("/")}

    def mention_of(p: dict, noise: str) -> tuple[str, set[str]] | None:
        # A word that is also a category name (洗衣机) is generic: left to the category rows.
        forms = [f for f in product_mentions(p) if key(f) not in category_names]
        rng.shuffle(forms)
        for form in forms:
            text = noisy(form, noise, rng)
            ids = gold[key(form)]
            clash = gold.get(key(text or "")) if text else None
            if text and (clash is None or clash == ids):
                return text, ids
        return None

    for n in range(200):  # products alone, every noise kind
        p, noise = rng.choice(products), NOISES[n % len(NOISES)]
        got = mention_of(p, noise)
        if got:
            add(rng.choice(PRODUCT_TEMPLATES).format(p=got[0]), [gold_product(got[1], p["product_id"])],
                [noise])
    for _ in range(80):  # product + colour / size / storage, in shopper words
        p = rng.choice([q for q in products if q.get("variants")])
        attrs = rng.choice(p["variants"])["attributes"]
        k = rng.choice(sorted(attrs))
        value = attrs[k]
        words = {"color": COLOR_WORDS, "size": SIZE_WORDS}.get(k, {}).get(value, [])
        if k == "size" and value.isdigit():
            words = [value + "码", value + "号"]
        if k == "storage":
            words = [value.replace("GB", "g").replace("TB", "t").lower(), value]
        word = rng.choice(words) if words and (rng.random() < 0.7 or value.isdigit()) else value
        got = mention_of(p, rng.choice(("clean", "clean", "case", "homophone")))
        if got:
            a_type = k if k in ("color", "size") else "attribute"
            ents = [gold_product(got[1], p["product_id"]), {"type": a_type, "value": value}]
            add(rng.choice(ATTR_TEMPLATES).format(p=got[0], a=word), ents, ["attribute"])
    brands = sorted({p["brand"] for p in products if p.get("brand")})
    for _ in range(30):  # brand (+ its top category)
        b = rng.choice(brands)
        noise = rng.choice(("clean", "clean", "pinyin", "homophone"))
        text = noisy(b, noise, rng) or b
        add(rng.choice(["{b}的东西质量怎么样", "有没有{b}家的", "{b}是正品吗", "{b}旗舰店吗"]).format(b=text),
            [{"type": "brand", "value": b}], [noise])
    leaves: dict[str, set[str]] = defaultdict(set)
    for p in products:
        parts = p["category"].split("/")
        for d in range(1, len(parts) + 1):
            leaves[parts[d - 1]].add("/".join(parts[:d]))
    alias_keys = set(gold)
    names = sorted(n for n in leaves if len(n) >= 2 and key(n) not in alias_keys)
    for _ in range(30):  # category words
        name = rng.choice(names)
        paths = sorted(leaves[name])
        ent = {"type": "category", "value": paths[0], **({"candidates": paths[1:]} if paths[1:] else {})}
        add(rng.choice(["有什么{c}推荐吗", "{c}都有哪些", "想买个{c}", "你们家{c}怎么样"]).format(c=name),
            [ent], ["category"])
    for _ in range(20):  # colloquial size / colour without a product
        if rng.random() < 0.5:
            canon = rng.choice(sorted(SIZE_WORDS))
            add(rng.choice(["{w}还有吗", "有{w}的吗", "我要{w}"]).format(w=rng.choice(SIZE_WORDS[canon])),
                [{"type": "size", "value": canon}], ["size_word"])
        else:
            canon = rng.choice(sorted(COLOR_WORDS))
            add(rng.choice(["有{w}的吗", "{w}还有货不"]).format(w=rng.choice(COLOR_WORDS[canon])),
                [{"type": "color", "value": canon}], ["color_word"])
    for _ in range(45):  # order numbers and phones
        o = rng.choice(orders)
        oid, phone = o["order_id"], o["phone"]
        kind = rng.randrange(4)
        if kind == 0:
            add(f"订单{oid}到哪了", [{"type": "order_id", "value": oid}], ["order"])
        elif kind == 1:
            spaced = " ".join(oid[i:i + 4] for i in range(0, 16, 4))
            add(f"我的订单号是 {spaced} 帮我查下", [{"type": "order_id", "value": oid}], ["order_spaced"])
        elif kind == 2:
            add(f"手机号{phone}下的单 还没发货", [{"type": "phone", "value": phone}], ["phone"])
        else:
            add(f"尾号{phone[-4:]}的订单能改地址吗", [{"type": "phone_last4", "value": phone[-4:]}], ["last4"])
    for text in NO_ENTITY:
        add(text, [], ["none"])
    seen: set[str] = set()
    out = []
    for row in rows:
        if row["text"] not in seen:
            seen.add(row["text"])
            out.append({"id": f"E{len(out) + 1:04d}", **row})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    rows = build(args.seed)
    with args.out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    n_ent = sum(len(r["entities"]) for r in rows)
    print(f"wrote {len(rows)} messages, {n_ent} gold entities, "
          f"{sum(1 for r in rows if not r['entities'])} without any, to {args.out}")


if __name__ == "__main__":
    main()
