"""Shared Chinese word segmentation: one private jieba dictionary per object.

Owns: cutting shopper text into words for keyword scoring and entity linking.
Each ``Tokenizer`` wraps its own ``jieba.Tokenizer`` instance, never the
module-global jieba, so adding a user word in one component cannot change how
another one segments. Nothing is loaded at import time: the dictionary (about
a second, cached by jieba in the temp directory) loads on ``warm_up()`` or on
first use.

``terms()`` is the normalised view for retrieval: NFKC + lower case, search
mode cut (long words also yield their dictionary sub-words), punctuation and
stopwords (question particles, pronouns, politeness fillers) removed.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from retrieval.errors import RetrievalError

logger = logging.getLogger(__name__)


class TokenizerError(RetrievalError):
    """The jieba dictionary or a user dictionary could not be loaded."""


# Function words and fillers that carry no topic in shopper questions.
STOPWORDS_ZH: frozenset[str] = frozenset(
    """
    的 了 吗 呢 啊 吧 呀 哦 哈 嘛 啦 么 哇 噢 喔 嗯 额 呃 哎 诶 欸 吖 咯
    我 你 您 他 她 它 我们 你们 他们 她们 咱 咱们 俺 自己 人家 亲 亲亲 客服 小二 老板 掌柜
    是 在 就 都 也 还 又 才 很 太 挺 更 最 再 而 和 与 及 或 或者 跟 同 给 把 被 让 对 向 从 到 于
    这 那 这个 那个 这些 那些 这样 那样 这边 那边 这里 那里 这种 那种 这款 那款 个 些 点 一下 一点
    请问 请 问 问下 问一下 想 想问 想问下 知道 麻烦 谢谢 感谢 好的 你好 您好 hi hello 在吗 在不在
    如果 但是 但 然后 所以 因为 那么 而且 还是 呗 喽 嘞 罢了 而已 之 其 以
    """.split()
)

# Store-service vocabulary jieba's general dictionary cuts badly ("退货运费" -> 退/货运费).
SERVICE_WORDS: tuple[str, ...] = tuple(
    """
    退货 退款 换货 退换货 运费 运费险 邮费 包邮 七天无理由 无理由 发票 电子发票 纸质发票 专票
    普票 开票 保修 质保 保价 价保 差价 退差价 签收 发货 到货 物流 快递 顺丰 京东快递 优惠券 满减
    尺码 码数 偏大 偏小 预售 定金 尾款 售后 维修 以旧换新 分期 免息 花呗 白条 积分 会员 赠品 正品
    缺货 补货 有货 现货 拒收 拆封 破损 少件 漏发 错发 改地址 收货地址 上门取件 催单 催发货 换尺码
    到账 退回 包退 包换 换新 自提 门店 客服电话 人工客服
    """.split()
)

SERVICE_WORD_FREQ = 5000  # high enough to beat rarer compounds such as 货运费

_TOKEN_RE = re.compile(r"\w", re.UNICODE)


def normalize_text(text: str) -> str:
    """NFKC (full-width to half-width), lower case, collapsed whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


class Tokenizer:
    """A private jieba dictionary plus optional user words.

    ``user_dict`` is a jieba user-dictionary file (``word [freq] [tag]`` per
    line). ``words`` are extra words added with ``add_word`` at load time
    (e.g. brand names), after ``SERVICE_WORDS`` unless ``service_words`` is
    False. ``cache_dir`` is where jieba keeps its pickled prefix
    dictionary; ``None`` means the system temp directory.
    """

    def __init__(
        self,
        user_dict: str | Path | None = None,
        *,
        words: Iterable[str] = (),
        stopwords: frozenset[str] | None = None,
        service_words: bool = True,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.user_dict = Path(user_dict) if user_dict is not None else None
        self.stopwords = STOPWORDS_ZH if stopwords is None else stopwords
        self._service_words = SERVICE_WORDS if service_words else ()
        self._extra_words = tuple(words)
        self._cache_dir = str(cache_dir) if cache_dir is not None else None
        self._jieba = None
        self._lock = threading.Lock()

    # --- loading -----------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._jieba is not None

    def warm_up(self) -> None:
        """Load the dictionary and user words (once; thread-safe)."""
        if self._jieba is not None:
            return
        with self._lock:
            if self._jieba is not None:
                return
            import jieba

            # jieba ships its logger at DEBUG with its own stderr handler; keep it quiet.
            jieba_logger = logging.getLogger("jieba")
            if jieba_logger.level == logging.DEBUG:
                jieba_logger.setLevel(logging.INFO)
            tk = jieba.Tokenizer()
            if self._cache_dir:
                Path(self._cache_dir).mkdir(parents=True, exist_ok=True)
                tk.tmp_dir = self._cache_dir
            try:
                tk.initialize()
                if self.user_dict is not None:
                    tk.load_userdict(str(self.user_dict))
            except (OSError, ValueError, UnicodeDecodeError) as e:
                raise TokenizerError(f"cannot load jieba dictionary: {e}") from e
            for word in self._service_words:
                tk.add_word(word, max(tk.FREQ.get(word) or 0, SERVICE_WORD_FREQ))
            for word in self._extra_words:
                if word.strip():
                    tk.add_word(normalize_text(word))
            self._jieba = tk
            logger.debug("jieba tokenizer ready (user_dict=%s, extra words=%d)",
                         self.user_dict, len(self._extra_words))

    def _tk(self):
        self.warm_up()
        return self._jieba

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        """Add one word to this tokenizer's private dictionary."""
        self._tk().add_word(normalize_text(word), freq, tag)

    # --- cutting -----------------------------------------------------------
    def cut(self, text: str, *, hmm: bool = True) -> list[str]:
        """jieba's accurate mode on the raw text (spans keep their characters)."""
        return self._tk().lcut(text, HMM=hmm)

    def cut_for_search(self, text: str, *, hmm: bool = True) -> list[str]:
        """jieba's search mode: long words plus their dictionary sub-words."""
        return self._tk().lcut_for_search(text, HMM=hmm)

    def terms(self, text: str) -> list[str]:
        """Normalised retrieval terms: search-mode cut minus punctuation and stopwords."""
        out: list[str] = []
        for tok in self.cut_for_search(normalize_text(text)):
            tok = tok.strip()
            if not tok or tok in self.stopwords or not _TOKEN_RE.search(tok):
                continue
            out.append(tok)
        return out
