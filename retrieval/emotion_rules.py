"""Anger cues in Chinese shopper messages: a transparent rule score in [0, 1].

Owns: the cue lists and their weights. Each cue found adds evidence; the
score is a noisy-OR, ``1 - prod(1 - w)``, so two strong cues push towards 1
and no cue gives 0. Neutral uses of trigger words (投诉建议的入口, 垃圾袋,
破壁机, 12315是管什么的) are masked before matching.

A message made only of greetings, thanks, acknowledgements and goodbyes
(哈喽, 哈喽亲, 在吗, 好的谢谢, 辛苦了 88) is a *pleasantry*: ``RuleResult.pleasantry``
tells the scorer to keep it below the hand-off line whatever the model makes
of a short or unusual string. The vocabulary is general Chinese chat language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Threats, insults, swearing, demands: on their own they usually mean "furious".
STRONG_CUES: tuple[tuple[str, float], ...] = (
    (r"12315|消协|工商局?|市场监管|法院|律师|起诉|曝光|报警", 0.75),
    (r"骗子|骗钱|骗人|欺诈|诈骗|黑店|无良|奸商|坑人|坑爹|坑钱", 0.7),
    (r"垃圾|什么破|破玩意|破东西|破服务|啥玩意|什么玩意|烂透|太烂|这么烂", 0.7),
    (r"他妈|妈的|tmd|特么|卧槽|我靠|尼玛|傻[xX×逼b]|sb|滚|去死|脑子有病|有病吧|废物", 0.8),
    (r"(我要|我会|必须|就)(投诉|差评)|投诉你|差评[!！]|给你们差评|告你们|跟你们没完", 0.75),
    (r"退钱|赔钱|赔偿|假一赔", 0.5),
    (r"忍无可忍|受够了|气死|恶心|瞎了眼|太过分|欺负人|什么态度", 0.6),
    ("[\U0001F620\U0001F621\U0001F624\U0001F47F\U0001F92C\U0001F4A2\U0001F595]", 0.5),  # 😠😡😤👿🤬💢🖕
)
# Impatience and mild sarcasm: "annoyed".
MILD_CUES: tuple[tuple[str, float], ...] = (
    (r"投诉|差评", 0.35),
    (r"还不发|还没发|怎么还没|怎么还不|到底|都[几一两三四五六七八九十\d]+[天周个]|等了[^\s]*[天周]", 0.3),
    (r"无语|服了|离谱|敷衍|答非所问|太慢|有点烦|烦死|失望|搞什么|什么情况|靠谱点|能不能快|催了", 0.3),
    (r"又[是要]|第[二三四五\d]次|[三几]次了|说了多少遍", 0.25),
    ("[\U0001F644\U0001F612\U0001F611\U0001F613\U0001F62B\U0001F629]", 0.25),  # 🙄😒😑😓😫😩
)
# Neutral phrases that contain trigger words.
NEUTRAL: tuple[str, ...] = (
    r"投诉(建议|入口|渠道|流程|电话)", r"怎么(投诉|差评|给差评)", r"差评.{0,6}(修改|删|追评)",
    r"垃圾(袋|桶|分类|处理器)", r"破壁", r"12315是", r"(是不是|会不会|冒充|防止|小心)[^，。,]{0,6}骗",
    r"咨询[^，。,]{0,6}(12315|投诉)", r"退钱的话", r"包装有点破",
)
# Greeting, thanks, acknowledgement and goodbye words, and the fillers around them.
PLEASANTRY_WORDS: tuple[str, ...] = tuple("""
    你好 您好 你好呀 哈喽 哈罗 哈啰 嗨 嗨喽 hi hello hey 哈喽哈喽 在吗 在嘛 在么 在不在 在不 在没 在线吗
    有人吗 有人在吗 有人没 有人不 亲 亲亲 亲爱的 客服 客服你好 老板 掌柜 店家 小姐姐 小哥哥 美女 帅哥 宝宝
    早上好 早 早安 上午好 中午好 下午好 晚上好 晚安 新年好 过年好 节日快乐 新年快乐
    谢谢 谢谢你 谢谢您 谢谢亲 谢啦 谢了 多谢 感谢 感谢感谢 感恩 3q thx thanks thank thankyou you 辛苦了 辛苦
    麻烦了 麻烦你了 打扰了 好的 好滴 好嘞 好哒 好吧 好 嗯 嗯嗯 哦 哦哦 噢 ok okk okay 行 行吧 可以 知道了
    明白了 明白 了解 了解了 收到 懂了 没事了 没问题了 没事 拜拜 再见 88 886 bye byebye 先这样 就这样 那就这样
    咨询一下 咨询下 问一下 问下 请问
""".split())
_PLEASANTRY_PARTICLES = tuple("啊呀哈呢啦哟喔吖哇嘞咯噢哦嘛")
_PLEASANTRY_FILLER = re.compile(r"[\s\W_]+")  # spaces, punctuation, emoji
_PLEASANTRY = re.compile(
    "(?:" + "|".join(sorted(map(re.escape, PLEASANTRY_WORDS + _PLEASANTRY_PARTICLES), key=len, reverse=True))
    + ")+", re.IGNORECASE)


def is_pleasantry(text: str) -> bool:
    """True when ``text`` only greets, thanks, acknowledges or says goodbye (fillers and emoji aside).

    >>> is_pleasantry("哈喽亲"), is_pleasantry("好的谢谢~"), is_pleasantry("你好 我要退货")
    (True, True, False)
    """
    core = _PLEASANTRY_FILLER.sub("", text)
    return bool(core) and _PLEASANTRY.fullmatch(core) is not None


REPEATED_MARKS = re.compile(r"[!！]{2,}|[?？]{2,}|[!！?？]{3,}")
SHOUT = re.compile(r"\b[A-Z]{3,}\b")
_NOT_SHOUTING = frozenset({"VIP", "APP", "GPS", "USB", "LED", "OLED", "NFC", "SKU", "PLUS", "XXL", "XXXL"})

_STRONG = [(re.compile(p, re.IGNORECASE), w) for p, w in STRONG_CUES]
_MILD = [(re.compile(p, re.IGNORECASE), w) for p, w in MILD_CUES]
_NEUTRAL = re.compile("|".join(NEUTRAL))


@dataclass(frozen=True)
class RuleResult:
    score: float
    cues: tuple[str, ...]
    neutral_use: bool = False  # a trigger word was used neutrally (垃圾袋, 投诉建议)
    pleasantry: bool = False  # the whole message greets, thanks or says goodbye


def rule_score(text: str) -> RuleResult:
    """Noisy-OR of the cues found; ``cues`` lists the matched strings (for logs and tests).

    >>> rule_score("怎么投诉建议").score, rule_score("我要投诉你们！！").score > 0.9
    (0.0, True)
    """
    masked, n_neutral = _NEUTRAL.subn(lambda m: "_" * len(m.group(0)), text)
    found: list[tuple[str, float]] = []
    for pattern, weight in _STRONG + _MILD:
        m = pattern.search(masked)
        if m:
            found.append((m.group(0), weight))
    marks = REPEATED_MARKS.findall(masked)
    if marks:
        found.append(("".join(marks), min(0.3 + 0.15 * (len(marks) - 1) + 0.05 * (max(map(len, marks)) - 2), 0.6)))
    shouts = [w for w in SHOUT.findall(masked) if w not in _NOT_SHOUTING]
    if shouts:
        found.append((" ".join(shouts), 0.4))
    miss = 1.0
    for _, w in found:
        miss *= 1.0 - w
    return RuleResult(round(1.0 - miss, 4), tuple(c for c, _ in found), n_neutral > 0, is_pleasantry(text))
