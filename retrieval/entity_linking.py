"""Entity linking: find catalogue things, order numbers and phones in a shopper message.

Owns: turning one message into :class:`schema.types.EntityLink` spans with
graph ids. The linker is built from a :class:`CatalogLexicon` that the caller
read (``GraphKnowledge.catalog_lexicon()`` or ``lexicon_from_records``); it
never queries Neo4j. ``rebuild(lexicon)`` swaps in a new lexicon when the
knowledge version changes.

Matching:

1. patterns first: 16-digit order numbers, 11-digit mobiles, ``尾号1234``;
   nothing else may overlap them;
2. candidates: exact surfaces on half-width, lower-cased, space-free text
   (Chinese surfaces of two characters must line up with the words of a
   private jieba tokenizer that loaded the lexicon's user dictionary, so 手机
   does not fire inside 手机号; ASCII surfaces need ASCII word edges), plus,
   over jieba word n-grams that are not exact surfaces, pinyin keys
   (homophone typos 星曜 / 星耀, names typed in pinyin) and rapidfuzz ratios
   above ``fuzzy_threshold`` (typos) against product, brand and category
   surfaces;
3. the non-overlapping set of candidates with the greatest total weight
   (characters matched x score), so one long name beats the words inside it;
4. a brand right before one of its products merges into the product link.

Link types: product, brand, category, color, size, attribute, order_id,
phone, phone_last4. A span that names several products (an alias shared by three dresses)
becomes one link whose ``value`` is the best candidate and whose
``candidates`` are the others, best first (``schema.types.EntityLink``):
products that the message's brand or category links also point to win,
and the others are dropped. For colours, ``candidates`` lists catalogue values that are the same
colour written differently (红 / 红色).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from retrieval.entity_index import (
    SOURCE_RANK,
    Surface,
    SurfaceIndex,
    has_cjk,
    requires_alignment,
    write_userdict,
)
from retrieval.normalize import find_patterns, fold, model_key, pinyin_key
from retrieval.quantity import load_units
from retrieval.tokenize import Tokenizer
from retrieval.variant_match import mentioned_values
from schema.lexicon import CatalogLexicon
from schema.settings import Settings
from schema.types import EntityLink

logger = logging.getLogger(__name__)

STRONG_CONTEXT = frozenset({"brand", "category", "product"})
# A unit right after a number: an alias ending in the number still matches (清泉500 in 清泉500ml).
_UNIT_AFTER = re.compile(r"(?:ml|l|g|kg|mm|cm|m|gb|tb|mah|w|v)(?![a-z0-9])")
SCHEME_ID_SCORE = 0.6
QUANTITY_SCORE = 0.9
# A scope (brand, category, shared alias) of more products than this is searched, not narrowed here.
MAX_SCOPE = 30
TokenizerFactory = Callable[[Path], Tokenizer]


@dataclass(frozen=True)
class LinkerConfig:
    """Thresholds; fuzzy scores are rapidfuzz ratios (0-100)."""

    fuzzy_threshold: float = 84.0
    min_fuzzy_len: int = 4
    pinyin_score: float = 0.95
    max_span_tokens: int = 6
    span_cost: float = 0.1


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    score: float
    surfaces: tuple[Surface, ...]
    size: int  # characters matched: the shorter of the span key and the surface key

    @property
    def weight(self) -> float:
        return self.size * self.score


@dataclass(frozen=True)
class _State:
    index: SurfaceIndex
    tokenizer: Tokenizer


def _ascii_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class EntityLinker:
    """Links messages against one lexicon; thread-safe; ``rebuild`` swaps lexicons.

    >>> linker = EntityLinker(lexicon, dict_root=settings.models_dir / "lexicon")  # doctest: +SKIP
    >>> linker.link("星耀x15pro 256g 远峰蓝有货吗")  # doctest: +SKIP
    [EntityLink(text='星耀x15pro', type='product', value='P1201', ...), ...]

    ``tokenizer_factory`` gets the user-dictionary path and returns a private
    :class:`Tokenizer` (default: ``Tokenizer(user_dict=path)``).
    """

    def __init__(
        self,
        lexicon: CatalogLexicon,
        *,
        dict_root: Path,
        tokenizer_factory: TokenizerFactory | None = None,
        config: LinkerConfig | None = None,
    ) -> None:
        self.dict_root = Path(dict_root)
        self.config = config or LinkerConfig()
        self._factory: TokenizerFactory = tokenizer_factory or (lambda p: Tokenizer(user_dict=p))
        self._lock = threading.Lock()
        self._pending = lexicon
        self._state: _State | None = None

    @classmethod
    def from_settings(cls, lexicon: CatalogLexicon, settings: Settings, **kwargs: object) -> EntityLinker:
        return cls(lexicon, dict_root=settings.models_dir / "lexicon", **kwargs)  # type: ignore[arg-type]

    # --- lifecycle ------------------------------------------------------------
    def _build(self, lexicon: CatalogLexicon) -> _State:
        index = SurfaceIndex(lexicon)
        path = write_userdict(index, self.dict_root)
        tokenizer = self._factory(path)
        tokenizer.warm_up()
        logger.info("entity linker ready: version %s, %d surfaces, user dict %s",
                    lexicon.version, len(index.exact), path)
        return _State(index, tokenizer)

    def warm_up(self) -> None:
        """Build the tables, write the user dictionary and load jieba (once)."""
        if self._state is not None:
            return
        with self._lock:
            if self._state is None:
                self._state = self._build(self._pending)

    def rebuild(self, lexicon: CatalogLexicon) -> None:
        """Switch to a new lexicon (built off to the side, then swapped in)."""
        if self._state is not None and self._state.index.lexicon == lexicon:
            return
        state = self._build(lexicon)
        with self._lock:
            self._state = state
            self._pending = lexicon

    @property
    def version(self) -> str:
        return self._pending.version

    def _current(self) -> _State:
        self.warm_up()
        assert self._state is not None
        return self._state

    # --- linking ------------------------------------------------------------------
    def link(self, text: str) -> list[EntityLink]:
        """All entity links in ``text``, in reading order."""
        state = self._current()
        folded = fold(text)
        blocked = [False] * len(text)
        links: list[EntityLink] = []
        for m in find_patterns(text):
            links.append(EntityLink(m.text, m.start, m.end, m.type, m.value, 1.0))
            blocked[m.start:m.end] = [True] * (m.end - m.start)
        tokens = self._tokens(state, folded)
        starts = {s for s, _ in tokens}
        ends = {e for _, e in tokens}
        cands = self._exact(state.index, folded, starts, ends)
        cands += self._approximate(state.index, folded, tokens)
        chosen = self._select([c for c in cands if not any(blocked[c.start:c.end])], len(text))
        found = self._merge_brand_product(state.index, self._to_links(state.index, text, chosen), text)
        found += self._quantities(state.index, text, found, blocked)
        found = self._narrow_scope(state.index, found, text)
        links += found + self._scheme_ids(state.index, text, folded, blocked, found)
        return sorted(links, key=lambda x: x.start)

    @staticmethod
    def _scheme_ids(index: SurfaceIndex, text: str, folded: str, blocked: list[bool],
                    found: list[EntityLink]) -> list[EntityLink]:
        """Ids written in one of the store's id schemes that no exact surface matched.

        They become product links with a lower score (``SCHEME_ID_SCORE``): the
        dialogue checks them against the graph and says when no such product exists.
        """
        taken = list(blocked)
        for link in found:
            taken[link.start:link.end] = [True] * (link.end - link.start)
        out = []
        for scheme in index.id_schemes:
            for m in scheme.pattern.finditer(folded):
                if any(taken[m.start():m.end()]):
                    continue
                out.append(EntityLink(text[m.start():m.end()], m.start(), m.end(), "product",
                                      scheme.canonical(m), SCHEME_ID_SCORE))
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
        return out

    @staticmethod
    def _tokens(state: _State, folded: str) -> list[tuple[int, int]]:
        spans, pos = [], 0
        for tok in state.tokenizer.cut(folded, hmm=False):
            if tok.strip():
                spans.append((pos, pos + len(tok)))
            pos += len(tok)
        return spans

    def _exact(self, index: SurfaceIndex, folded: str, starts: set[int], ends: set[int]) -> list[_Candidate]:
        pos = [i for i, ch in enumerate(folded) if not ch.isspace()]
        compact = "".join(folded[i] for i in pos)
        found: list[_Candidate] = []
        for k in range(len(compact)):
            for n in range(min(index.max_key_len, len(compact) - k), 0, -1):
                key = compact[k:k + n]
                hits = index.exact.get(key)
                if not hits or (n == 1 and has_cjk(key)):
                    continue
                if key.isdigit() and not (n >= 5 and any(h.source == "id" for h in hits)):
                    continue  # a bare number is a quantity or a price, unless it is a long product id
                start, end = pos[k], pos[k + n - 1] + 1
                if _ascii_word(key[0]) and start > 0 and (
                        _ascii_word(folded[start - 1]) or (key[0].isdigit() and folded[start - 1] == ".")):
                    continue  # 5l inside 6.5l
                if (_ascii_word(key[-1]) and end < len(folded) and _ascii_word(folded[end])
                        and not (key[-1].isdigit() and _UNIT_AFTER.match(folded, end))):
                    continue  # x15 inside x15pro, but 清泉500 in 清泉500ml (a number and its unit)
                if requires_alignment(key) and (start not in starts or end not in ends):
                    continue
                found.append(_Candidate(start, end, 1.0, hits, n))
        return found

    def _approximate(self, index: SurfaceIndex, folded: str, tokens: list[tuple[int, int]]) -> list[_Candidate]:
        """Pinyin and fuzzy candidates over jieba word n-grams that are not exact surfaces."""
        cfg = self.config
        found: list[_Candidate] = []
        for i in range(len(tokens)):
            for j in range(i, min(i + cfg.max_span_tokens, len(tokens))):
                start, end = tokens[i][0], tokens[j][1]
                key = model_key(folded[start:end])
                if not key.replace(".", "").replace("-", "").isalnum():
                    break  # punctuation ends a name
                if key in index.exact:
                    continue
                # A span jieba knows as one Chinese word (时光) is a word, not a typo of 拾光.
                if not (i == j and has_cjk(key)):
                    hits = index.pinyin.get(pinyin_key(key))
                    if hits:
                        size = min(len(key), min(len(h.key) for h in hits))
                        found.append(_Candidate(start, end, cfg.pinyin_score, hits, size))
                        continue
                if len(key) < cfg.min_fuzzy_len:
                    continue
                choices = index.fuzzy_choices(len(key), cfg.fuzzy_threshold)
                best = process.extract(key, choices, scorer=fuzz.ratio,
                                       score_cutoff=cfg.fuzzy_threshold, limit=8)
                if best:
                    top = best[0][1]
                    keys = [k for k, score, _ in best if score == top]
                    hits = tuple(s for k in keys for s in index.exact[k])
                    size = min(len(key), min(len(k) for k in keys))
                    found.append(_Candidate(start, end, top / 100.0, hits, size))
        return found

    def _select(self, cands: list[_Candidate], length: int) -> list[_Candidate]:
        """Non-overlapping candidates of greatest total weight (weighted interval scheduling).

        A candidate weighs the characters it matches (the shorter of span and
        surface) times its score, minus a small per-span cost, so one long match
        beats the pieces it contains (星耀x15 over 星耀 + x15), a long fuzzy name
        beats the short exact words inside it, and a fuzzy span gains nothing by
        swallowing the words around a name.
        """
        by_end: dict[int, list[_Candidate]] = {}
        for c in cands:
            by_end.setdefault(c.end, []).append(c)
        best = [0.0] * (length + 1)
        back: list[_Candidate | None] = [None] * (length + 1)
        for pos in range(1, length + 1):
            best[pos], back[pos] = best[pos - 1], None
            for c in by_end.get(pos, ()):
                w = best[c.start] + c.weight - self.config.span_cost
                if w > best[pos] + 1e-9:
                    best[pos], back[pos] = w, c
        chosen, pos = [], length
        while pos > 0:
            c = back[pos]
            if c is None:
                pos -= 1
            else:
                chosen.append(c)
                pos = c.start
        return chosen[::-1]

    # --- from surfaces to links ---------------------------------------------------------
    @staticmethod
    def _pick_type(surfaces: tuple[Surface, ...]) -> str:
        types = {s.entry.type for s in surfaces}
        if any(s.entry.type == "product" and s.source in ("name", "id") for s in surfaces):
            return "product"
        for t in ("category", "product", "brand", "color", "size", "attribute"):
            if t in types:
                return t
        raise AssertionError(f"no known type among {types}")

    def _to_links(self, index: SurfaceIndex, text: str, chosen: list[_Candidate]) -> list[EntityLink]:
        typed = [(c, self._pick_type(c.surfaces)) for c in chosen]
        context: list[tuple[int, bool, frozenset[str]]] = []  # (start, strong, product ids)
        for c, t in typed:
            ids = frozenset(p for s in c.surfaces if s.entry.type == t for p in s.entry.product_ids)
            context.append((c.start, t in STRONG_CONTEXT, ids))
        links = []
        for c, t in typed:
            mine = [s for s in c.surfaces if s.entry.type == t]
            others = [(strong, ids) for start, strong, ids in context if start != c.start]
            ranked = self._rank_values(mine, others)
            if t == "color":
                family = next((index.color_families[s.key] for s in mine if s.source == "family"), ())
                candidates = tuple(dict.fromkeys(
                    v for v in (*family, *index.color_groups.get(ranked[0], ())) if v != ranked[0]))
            else:
                candidates = tuple(ranked[1:])
            links.append(EntityLink(text[c.start:c.end], c.start, c.end, t, ranked[0],
                                    round(c.score, 4), candidates))
        return links

    @staticmethod
    def _merge_brand_product(index: SurfaceIndex, links: list[EntityLink], text: str) -> list[EntityLink]:
        """星耀 + X15 -> one product link when the product is the brand's."""
        links = sorted(links, key=lambda x: x.start)
        out: list[EntityLink] = []
        for link in links:
            prev = out[-1] if out else None
            if (prev is not None and prev.type == "brand" and link.type == "product"
                    and not text[prev.end:link.start].strip()
                    and link.value in index.brand_products.get(prev.value, ())):
                out[-1] = EntityLink(text[prev.start:link.end], prev.start, link.end, "product",
                                     link.value, min(prev.score, link.score), link.candidates)
            else:
                out.append(link)
        return out

    @staticmethod
    def _quantities(index: SurfaceIndex, text: str, found: list[EntityLink],
                    blocked: list[bool]) -> list[EntityLink]:
        """半斤 / 二两 / 1公斤: option values that state the same amount (250g, 礼盒装100g).

        A quantity no other link covers becomes an option link (score
        ``QUANTITY_SCORE``) whose value is the first such catalogue value and whose
        candidates are the others; the unit words are general data (``schema/units.json``).
        """
        taken = list(blocked)
        for link in found:
            taken[link.start:link.end] = [True] * (link.end - link.start)
        out = []
        for q in load_units().find(text):
            if any(taken[q.start:q.end]):
                continue
            values = index.quantity_values.get(q.key)
            if not values:
                continue
            kind = next((t for t in ("size", "attribute") if any(vt == t for vt, _ in values)), "attribute")
            same = [v for t, v in values if t == kind]
            out.append(EntityLink(text[q.start:q.end], q.start, q.end, kind, same[0], QUANTITY_SCORE,
                                  tuple(same[1:])))
        return out

    @staticmethod
    def _mentioned(index: SurfaceIndex, text: str, links: list[EntityLink],
                   pool: frozenset[str]) -> list[frozenset[str]]:
        """Option values of ``pool``'s products named by a distinctive part (途观, 凯美瑞).

        Only the words no link read count; each value found gives the products that offer it.
        """
        chars = list(text)
        for link in links:
            chars[link.start:link.end] = [" "] * (link.end - link.start)
        rest = "".join(chars)
        if not rest.strip():
            return []
        offered: dict[str, set[str]] = {}
        for pid in pool:
            for key, values in index.product_values.get(pid, {}).items():
                offered.setdefault(key, set()).update(values)
        found = mentioned_values(rest, {k: sorted(v) for k, v in offered.items()})
        return [frozenset(pid for pid in pool if value in index.product_values.get(pid, {}).get(key, ()))
                for key, value in found.items()]

    def _narrow_scope(self, index: SurfaceIndex, links: list[EntityLink], text: str) -> list[EntityLink]:
        """A brand, a category or a shared alias, and option values -> the product(s) that offer them.

        木心 + 26寸 + 原木色 names the brand's product that offers 26寸 and 原木色; 红茶 + 半斤
        names the one tea of that category that comes in 250g; 途观 的头枕 names the headrest
        that fits a 大众途观L (a value named by a distinctive part). The scope is every
        brand, category and many-product link in the message together (their products in
        common). Each colour, size or option value that some of them offer narrows the pool. What is
        left becomes a product link when it is fewer than the pool: a brand or a shared alias
        keeps up to three (the others as candidates, for the dialogue to ask which); a
        category only one. A pool of one product is named by any value it offers.
        """
        if any(link.type == "product" and not link.candidates for link in links):
            return links
        scopes: list[tuple[int, frozenset[str]]] = []
        for i, link in enumerate(links):
            if link.type == "brand":
                scopes.append((i, index.brand_products.get(link.value, frozenset())))
            elif link.type == "category":
                scopes.append((i, index.category_products.get(link.value, frozenset())))
            elif link.type == "product":
                scopes.append((i, frozenset((link.value, *link.candidates))))
        if not scopes:
            return links
        pool = frozenset.intersection(*(ids for _, ids in scopes))
        if not pool or len(pool) > MAX_SCOPE:
            return links
        offers = [frozenset().union(*(index.value_products.get((other.type, v), frozenset())
                                      for v in (other.value, *other.candidates)))
                  for other in links if other.type in ("color", "size", "attribute")]
        offers += self._mentioned(index, text, links, pool)
        narrowed = pool
        for offering in offers:
            if narrowed & offering:
                narrowed = narrowed & offering
        if not offers or not (narrowed & frozenset().union(*offers)):
            return links
        # Which link becomes the product: a shared alias, else the brand, else the category.
        i = next((i for t in ("product", "brand", "category") for i, _ in scopes if links[i].type == t))
        link = links[i]
        limit = 1 if all(links[j].type == "category" for j, _ in scopes) else 3
        if narrowed == pool and len(pool) > 1:
            return links
        if len(narrowed) > limit:
            return links
        ranked = ([link.value] if link.type == "product" and link.value in narrowed else []) + sorted(narrowed)
        ranked = list(dict.fromkeys(ranked))
        out = list(links)
        out[i] = EntityLink(link.text, link.start, link.end, "product", ranked[0], link.score, tuple(ranked[1:]))
        return out

    @staticmethod
    def _rank_values(surfaces: list[Surface], context: list[tuple[bool, frozenset[str]]]) -> list[str]:
        """Distinct values, best first: context support, then best source, then id.

        Brand, category and product links elsewhere in the message are strong
        context: values they do not back are dropped (云裳 + 茶歇裙 keeps only
        云裳's dress). Colour, size and attribute links only reorder: asking
        whether a product comes in a colour does not mean it does.
        """
        best: dict[str, tuple[int, int, int, str]] = {}
        for s in surfaces:
            v = s.entry.value
            ids = set(s.entry.product_ids) if s.entry.type != "product" else {v}
            strong = sum(1 for is_strong, ctx in context if is_strong and ids & ctx)
            weak = sum(1 for is_strong, ctx in context if not is_strong and ids & ctx)
            key = (-strong, -weak, SOURCE_RANK.get(s.source, 3), v)
            if v not in best or key < best[v]:
                best[v] = key
        ranked = sorted(best, key=lambda v: best[v])
        top = best[ranked[0]][0]
        return [v for v in ranked if best[v][0] == top] if top < 0 else ranked
