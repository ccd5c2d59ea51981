"""Build ``intents_train.jsonl`` from hand-written lines plus filled templates.

Owns: the training-set recipe only. Inputs, both in this folder:

* ``train_handwritten.txt`` and ``train_chat.txt``: utterances written one by
  one, kept verbatim (the second in the way shoppers type in a shop's chat:
  fragments, emoji, order cards, links, jargon, two requests in one line);
* ``train_templates.txt``: ``[@slot]`` filler lists and per-intent templates
  with ``{slot}`` holes.

Each template is realised at most ``PER_TEMPLATE`` times with random fillers;
some realisations get shopper-style noise (colloquial swaps such as
什么->啥 / 怎么->咋, the typos 发贷 / 快第 / 退宽, a leading 亲 or a trailing
particle). Template lines per intent stop at ``TARGET_PER_INTENT`` in total.
Exact duplicates are dropped; a text that appears under two intents is a
labelling conflict and aborts the build. A generated line (template or chat
variant) that happens to equal a line of the held-out ``intents_test.jsonl``
(after the same normalisation) is dropped too: filling ``{there} {hi}`` can
produce a test greeting such as 在吗老板 by chance, and train and test must stay
disjoint. The test file is read for that comparison only.

Then up to ``CHAT_PER_INTENT`` chat variants per intent are added: a line of
that intent with a greeting before it or thanks after it (they do not change
the label), an emoji, a pasted link or order card, no spaces, or a second
request of another intent after it (the first request is the label). The test set is NOT built here: it is
hand-written separately (see README.md).

Run: ``.venv/bin/python data/nlu/build_train.py`` (deterministic, seed 20240611).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
HANDWRITTEN = HERE / "train_handwritten.txt"
CHAT = HERE / "train_chat.txt"
TEMPLATES = HERE / "train_templates.txt"
OUTPUT = HERE / "intents_train.jsonl"
HELD_OUT = HERE / "intents_test.jsonl"

SEED = 20240611
PER_TEMPLATE = 7
TARGET_PER_INTENT = 125
CHAT_PER_INTENT = 40

_SECTION = re.compile(r"^\[(@?[a-z_]+)\]$")
_SLOT = re.compile(r"\{([a-z]+)\}")
# Same normalisation as check.py: texts differing only in case, spaces or
# punctuation count as duplicates.
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)

# (old, new, probability): shopper spelling habits seen in chat logs.
_SWAPS = (
    ("什么", "啥", 0.5),
    ("怎么", "咋", 0.35),
    ("快递", "快第", 0.12),
    ("发货", "发贷", 0.1),
    ("退款", "退宽", 0.12),
)
# 能X吗 -> 能不能X ; 可以X吗 -> 可不可以X (never inside 智能/功能/性能/能效).
_AB_QUESTION = re.compile(r"^(.*?)(?<![智功性技电体])(能|可以)(?!效|量|力)(.+)吗$")
# A space between two non-ASCII characters; spaces next to model numbers stay.
_CJK_GAP = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")
_PREFIXES = ("亲 ", "亲", "你好 ", "请问", "问下 ", "那个 ", "哎 ", "客服 ")
_PARTICLES = ("呢", "啊", "哈", "呀", "？", "??", "。", " 急")
_QUESTION_ENDS = ("吗", "不", "没", "呢", "啊", "么", "？", "?")


def parse_sections(path: Path) -> dict[str, list[str]]:
    """Read a ``[section]``-grouped text file into ``{section: [lines]}``.

    Repeated sections are merged. Raises ValueError on a line before any
    section header.
    """
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _SECTION.match(line)
        if header:
            current = header.group(1)
            sections.setdefault(current, [])
            continue
        if current is None:
            raise ValueError(f"{path.name}:{number}: text before any [section]")
        sections[current].append(line)
    return sections


def order_number(rng: random.Random) -> str:
    """A plausible order number in one of the shapes shoppers paste."""
    shape = rng.random()
    if shape < 0.6:
        return str(rng.randint(10**11, 10**13 - 1))
    if shape < 0.85:
        return "2024" + str(rng.randint(10**11, 10**12 - 1))
    return "E" + str(rng.randint(10**15, 10**16 - 1))


def fill(template: str, slots: dict[str, list[str]], rng: random.Random) -> str:
    """Replace each ``{slot}`` independently with a random filler."""

    def pick(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "order":
            return order_number(rng)
        if name not in slots:
            raise ValueError(f"template {template!r} uses unknown slot {{{name}}}")
        return rng.choice(slots[name])

    return _SLOT.sub(pick, template)


def add_noise(text: str, rng: random.Random) -> str:
    """Make a templated line look more like typed chat."""
    for old, new, prob in _SWAPS:
        if old in text and rng.random() < prob:
            text = text.replace(old, new, 1)
    ab = _AB_QUESTION.match(text)
    if ab and rng.random() < 0.3:
        doubled = "能不能" if ab.group(2) == "能" else "可不可以"
        text = ab.group(1) + doubled + ab.group(3)
    if rng.random() < 0.2:
        text = rng.choice(_PREFIXES) + text
    if rng.random() < 0.25:
        particle = rng.choice(_PARTICLES)
        if particle in ("呢", "啊", "哈", "呀") and text.endswith(_QUESTION_ENDS):
            particle = "？"
        text += particle
    if rng.random() < 0.15:
        text = text.upper()
    if rng.random() < 0.2:
        text = _CJK_GAP.sub("", text)
    return text


def realise_templates(
    templates: list[str], slots: dict[str, list[str]], budget: int, rng: random.Random
) -> list[str]:
    """Up to ``PER_TEMPLATE`` distinct realisations per template, round-robin,
    stopping once ``budget`` lines are produced."""
    produced: list[str] = []
    seen: set[str] = set()
    counts = Counter[str]()
    for _ in range(PER_TEMPLATE * 6):
        progressed = False
        for template in templates:
            if len(produced) >= budget:
                return produced
            if counts[template] >= PER_TEMPLATE:
                continue
            text = fill(template, slots, rng)
            if rng.random() < 0.45:
                text = add_noise(text, rng)
            if text in seen:
                continue
            seen.add(text)
            counts[template] += 1
            produced.append(text)
            progressed = True
        if not progressed:
            break
    return produced


# Chat variants: what shoppers put around a request.
_GREETS = ("亲", "亲 在吗", "在吗", "你好", "您好", "哈喽", "hi", "亲亲", "客服", "在不在", "老板",
           "你好 在吗", "嗨", "有人吗")
_THANKS = ("谢谢", "谢谢亲", "谢啦", "麻烦了", "辛苦了", "多谢", "谢谢哈", "麻烦帮我看下 谢谢", "感谢")
_EMOJI = ("😊", "🙏", "😂", "🤔", "😭", "💦", "😅", "👍", "🥺", "😄", "[微笑]", "😓")
_ANGRY_EMOJI = ("😡", "🤬", "💢", "😤")
_CONNECT = (" ", "，", " 还有 ", " 另外 ", " 顺便问下 ", " 对了 ", "。", " 还有就是 ", " 再问下 ")
_LINKS = ("[链接]", "[商品链接]", "https://item.example.com/detail?id={n}", "https://m.example.cn/p/{n}",
          "[宝贝]")
_CARD_SHAPES = ("[订单编号:{o}]", "[订单号:{o}]", "订单编号：{o}", "【订单编号:{o}】", "[订单编号：{o}]")
# Lines of these intents get a pasted order card; product intents get a link.
_ORDER_INTENTS = {"order_status", "change_address", "cancel_order", "return_refund", "exchange", "invoice",
                  "missing_item", "price_protection", "warranty", "installation", "shipping", "payment",
                  "complaint"}
_PRODUCT_INTENTS = {"product_attribute", "stock_check", "price_promotion", "size_advice", "shipping",
                    "exchange", "installation", "warranty"}
_NO_SECOND = {"greeting", "goodbye", "out_of_scope", "human_agent"}


def chat_variant(text: str, intent: str, others: dict[str, list[str]], rng: random.Random) -> str:
    """One chat-style version of ``text`` that keeps its label ``intent``."""
    kinds = ["greet", "thanks", "emoji", "nospace"]
    if intent in _ORDER_INTENTS:
        kinds += ["card", "card"]
    if intent in _PRODUCT_INTENTS:
        kinds += ["link", "link"]
    if intent not in _NO_SECOND:
        kinds += ["second", "second", "greet_thanks"]
    if intent in ("greeting", "goodbye"):
        kinds = ["emoji", "nospace", "emoji"]
    kind = rng.choice(kinds)
    if kind == "greet":
        return rng.choice(_GREETS) + rng.choice((" ", "", "，")) + text
    if kind == "thanks":
        return text + rng.choice((" ", "，", "")) + rng.choice(_THANKS)
    if kind == "greet_thanks":
        return rng.choice(_GREETS) + " " + text + " " + rng.choice(_THANKS)
    if kind == "emoji":
        pool = _ANGRY_EMOJI if intent == "complaint" else _EMOJI
        return text + rng.choice(pool) * rng.choice((1, 1, 2, 3))
    if kind == "nospace":
        return _STRIP.sub("", text) or text
    if kind == "card":
        card = rng.choice(_CARD_SHAPES).format(o=str(rng.randint(10**15, 10**16 - 1)))
        return card + rng.choice((" ", "", "\n")) + text if rng.random() < 0.7 else text + " " + card
    if kind == "link":
        link = rng.choice(_LINKS).format(n=rng.randint(10**8, 10**12))
        return link + rng.choice((" ", "")) + text if rng.random() < 0.7 else text + " " + link
    second_intent = rng.choice(sorted(k for k in others if k != intent and k not in _NO_SECOND))
    return text + rng.choice(_CONNECT) + rng.choice(others[second_intent])


def held_out_keys(path: Path = HELD_OUT) -> set[str]:
    """Normalised texts of the test set, which generated lines must not reproduce."""
    if not path.is_file():
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {_STRIP.sub("", " ".join(json.loads(line)["text"].split()).lower()) for line in lines if line.strip()}


def build(seed: int = SEED) -> list[tuple[str, str]]:
    """Return ``(text, intent)`` pairs; raises ValueError on label conflicts."""
    rng = random.Random(seed)
    test_keys = held_out_keys()
    hand = parse_sections(HANDWRITTEN)
    for intent, lines in parse_sections(CHAT).items():
        hand.setdefault(intent, []).extend(lines)
    raw_templates = parse_sections(TEMPLATES)
    slots = {k[1:]: v for k, v in raw_templates.items() if k.startswith("@")}
    templates = {k: v for k, v in raw_templates.items() if not k.startswith("@")}

    rows: dict[str, tuple[str, str]] = {}  # normalised key -> (text, intent)
    conflicts: list[str] = []

    def put(text: str, intent: str, variant: bool = False, generated: bool = True) -> None:
        text = " ".join(text.split())
        key = _STRIP.sub("", text.lower())
        if generated and key in test_keys:  # hand-written collisions are left for check.py to report
            return
        previous = rows.get(key)
        if previous is None:
            rows[key] = (text, intent)
        elif previous[1] != intent and not variant:
            conflicts.append(f"{text!r}: {previous[1]} vs {intent}")
        # A chat variant that reads as a line of another intent (哈喽 + 。。。) is dropped.

    for intent, lines in hand.items():
        for line in lines:
            put(line, intent, generated=False)
    for intent in sorted(set(hand) | set(templates)):
        budget = max(0, TARGET_PER_INTENT - len(hand.get(intent, [])))
        for text in realise_templates(templates.get(intent, []), slots, budget, rng):
            put(text, intent)
    by_intent: dict[str, list[str]] = {}
    for text, intent in sorted(rows.values(), key=lambda pair: (pair[1], pair[0])):
        by_intent.setdefault(intent, []).append(text)
    for intent in sorted(by_intent):
        base = by_intent[intent]
        for text in rng.sample(base, min(CHAT_PER_INTENT, len(base))):
            put(chat_variant(text, intent, by_intent, rng), intent, variant=True)
    if conflicts:
        raise ValueError("label conflicts:\n" + "\n".join(conflicts))
    return sorted(rows.values(), key=lambda pair: (pair[1], pair[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    pairs = build(args.seed)
    rng = random.Random(args.seed)
    rng.shuffle(pairs)
    with args.out.open("w", encoding="utf-8") as handle:
        for text, intent in pairs:
            handle.write(json.dumps({"text": text, "intent": intent}, ensure_ascii=False) + "\n")
    counts = Counter(intent for _, intent in pairs)
    for intent, count in sorted(counts.items()):
        print(f"{intent:18s} {count}")
    print(f"total              {len(pairs)} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
