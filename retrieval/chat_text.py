"""What real shoppers type around their words, turned into clean text plus features.

Owns: the one cleaning step every understanding model reads through (intent
head, fine-tuned classifier, emotion model), at training and at serving time
alike:

* pasted order cards (``[订单编号:2611…]``, ``订单号：…``) become the token
  ``[订单]`` and their numbers a feature, so the model sees *that* an order was
  pasted, not which one;
* links (``https://…``, ``m.tb.cn/…``) and the placeholders chat platforms
  insert (``[链接]``, ``[图片]``, ``[商品]``, ``[表情]``) become ``[链接]`` /
  ``[图片]``;
* emoji are removed from the text and kept as a feature (the emotion rules
  read them);
* homophone typos of service words are corrected (发活 -> 发货, 宝修 -> 保修):
  a window of 2 to 4 Chinese characters whose toneless pinyin equals a service
  word's is replaced by it, unless the window is itself a word of jieba's
  general dictionary (报修, 定单) or overlaps a common word (在马路上 keeps 马路).
  The service words are general e-commerce vocabulary
  (:data:`retrieval.tokenize.SERVICE_WORDS` plus :data:`EXTRA_TERMS`), the
  dictionary is jieba's; nothing here comes from one store.

Corrections keep the length of the text; card, link and emoji replacements
do not (the cleaned text is for models, never for offsets).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from retrieval.tokenize import SERVICE_WORDS

ORDER_TOKEN = "[订单]"
LINK_TOKEN = "[链接]"
IMAGE_TOKEN = "[图片]"

# Words shoppers mistype by sound that SERVICE_WORDS does not list.
EXTRA_TERMS: tuple[str, ...] = tuple(
    """
    在吗 客服 人工 发货 退货 退款 换货 快递 物流 单号 订单 发票 保修 质保 包邮 运费 价保 补差价
    催单 漏发 少件 少发 拍下 拍错 下单 付款 退钱 安装 预约 维修 优惠 优惠券 便宜 尺码 有货 现货
    缺货 补货 签收 收货 地址 取消 开票 抬头 售后 赠品 好评 差评 投诉 到货 发错 质量
    """.split()
)
# A window that overlaps a general-dictionary word at least this frequent is left alone.
COMMON_WORD_FREQ = 100

_CARD = re.compile(
    r"[\[【(（]\s*(?:订单编号|订单号|订单|单号)\s*[:：]?\s*([A-Za-z]{0,4}\d[\d\- ]{5,30}\d)\s*[\]】)）]"
    r"|(?:订单编号|订单号)\s*[:：]\s*([A-Za-z]{0,4}\d[\d\-]{5,30}\d)"
)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|cn|net|tb\.cn)(?:/\S*)?",
                  re.IGNORECASE)
_PLACEHOLDER = re.compile(r"[\[【]\s*(链接|商品|商品链接|宝贝|宝贝链接|图片|照片|视频|语音|表情|动画表情|截图)\s*[\]】]")
_PLACEHOLDER_TOKEN = {"图片": IMAGE_TOKEN, "照片": IMAGE_TOKEN, "截图": IMAGE_TOKEN, "视频": IMAGE_TOKEN}
_EMOJI = re.compile(
    "[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F000-\U0001F2FF\U0001F900-\U0001F9FF"
    "\u2B00-\u2BFF\uFE0F\u200D]+"
)
_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CleanMessage:
    """A message as the models read it, with what was taken out of it."""

    text: str
    original: str
    order_numbers: tuple[str, ...] = ()
    links: int = 0
    images: int = 0
    emoji: tuple[str, ...] = ()
    corrections: tuple[tuple[str, str], ...] = ()


class HomophoneFixer:
    """Corrects service words typed by sound; loads jieba's dictionary on first use (about a second)."""

    def __init__(self, terms: tuple[str, ...] | None = None) -> None:
        self._terms = tuple(dict.fromkeys(t for t in (terms or SERVICE_WORDS + EXTRA_TERMS)
                                          if 2 <= len(t) <= 4 and all(_CJK.match(c) for c in t)))
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, ...], str] | None = None
        self._freq: dict[str, int] = {}

    def warm_up(self) -> None:
        if self._by_key is not None:
            return
        with self._lock:
            if self._by_key is not None:
                return
            import jieba

            tok = jieba.Tokenizer()
            tok.initialize()
            self._freq = tok.FREQ
            by_key: dict[tuple[str, ...], str] = {}
            for term in self._terms:
                by_key.setdefault(_syllables(term), term)
            self._by_key = by_key

    def _is_word(self, text: str, threshold: int = 1) -> bool:
        return self._freq.get(text, 0) >= threshold

    def fix(self, text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """``text`` with homophone typos of service words corrected, and the (typo, word) pairs."""
        self.warm_up()
        assert self._by_key is not None
        chars = list(text)
        done: list[tuple[str, str]] = []
        i = 0
        while i < len(chars):
            replaced = False
            for n in (4, 3, 2):
                window = "".join(chars[i:i + n])
                if len(window) < n or not all(_CJK.match(c) for c in window):
                    continue
                term = self._by_key.get(_syllables(window))
                if term is None or term == window or self._is_word(window):
                    continue
                if self._overlaps_common_word(chars, i, n):
                    continue
                chars[i:i + n] = list(term)
                done.append((window, term))
                i += n
                replaced = True
                break
            if not replaced:
                i += 1
        return "".join(chars), tuple(done)

    def _overlaps_common_word(self, chars: list[str], i: int, n: int) -> bool:
        """A common word that starts inside the window and ends after it, or the reverse (在马|路)."""
        for a in range(max(0, i - 3), i + n):
            for b in range(a + 2, min(len(chars), a + 4) + 1):
                inside = i <= a < i + n or i < b <= i + n
                outside = a < i or b > i + n
                if inside and outside and self._is_word("".join(chars[a:b]), COMMON_WORD_FREQ):
                    return True
        return False


@lru_cache(maxsize=65536)
def _syllables(text: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(text, style=Style.NORMAL, errors="default"))


def strip_chat_noise(text: str) -> CleanMessage:
    """Cards, links, placeholders and emoji out of ``text`` (no typo correction; no dictionary needed).

    >>> strip_chat_noise("[订单编号:2612059988776655] 到哪了😭").text
    '[订单] 到哪了'
    """
    numbers: list[str] = []

    def card(m: re.Match[str]) -> str:
        numbers.append(re.sub(r"[\s\-]", "", m.group(1) or m.group(2)))
        return f" {ORDER_TOKEN} "

    out = _CARD.sub(card, text)
    out, links = _URL.subn(f" {LINK_TOKEN} ", out)
    images = 0

    def placeholder(m: re.Match[str]) -> str:
        nonlocal links, images
        token = _PLACEHOLDER_TOKEN.get(m.group(1), LINK_TOKEN)
        if token == LINK_TOKEN:
            links += 1
        else:
            images += 1
        return f" {token} "

    out = _PLACEHOLDER.sub(placeholder, out)
    emoji = tuple(_EMOJI.findall(out))
    out = _EMOJI.sub(" ", out)
    out = _SPACES.sub(" ", out).strip()
    return CleanMessage(out, text, tuple(numbers), links, images, emoji)


class ChatCleaner:
    """Noise stripping plus homophone correction: what every understanding model reads.

    >>> cleaner = ChatCleaner()
    >>> cleaner.clean("亲 宝修多久[链接]").text  # doctest: +SKIP
    '亲 保修多久 [链接]'
    """

    def __init__(self, fixer: HomophoneFixer | None = None) -> None:
        self.fixer = fixer or HomophoneFixer()

    def warm_up(self) -> None:
        self.fixer.warm_up()

    def clean(self, text: str) -> CleanMessage:
        base = strip_chat_noise(text)
        fixed, corrections = self.fixer.fix(base.text)
        return CleanMessage(fixed, text, base.order_numbers, base.links, base.images, base.emoji, corrections)

    def texts(self, texts: list[str] | tuple[str, ...]) -> list[str]:
        """The cleaned texts, for models; an empty result falls back to the original."""
        out = []
        for t in texts:
            c = self.clean(t).text
            out.append(c or t)
        return out


_DEFAULT: ChatCleaner | None = None
_DEFAULT_LOCK = threading.Lock()


def default_cleaner() -> ChatCleaner:
    """One shared cleaner per process (its dictionary is read-only after warm-up)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = ChatCleaner()
    return _DEFAULT
