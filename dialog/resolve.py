"""Understanding that needs the store's data, applied after ``understand``:

- a clarification answered by a fragment of one option (``dialog.clarify``);
- 那…的呢 / 原味的那款呢: a move to a sibling product of the same family (same
  brand or category as the product last discussed, its name differing in the
  word the shopper named), when that word is not a variant of the current product;
- 跟大号的比 高多少 / 比40码的那双长多少: a comparison with a product named by a
  fragment (``dialog.sibling_compare``): the same sibling move, answered as a
  comparison of the pair; a fragment naming a variant of the current product
  compares that product's variants instead;
- (a product named by its brand or category and a variant value that only one
  product of them has is the entity linker's: ``EntityLinker._narrow_scope``);
- a bare number naming one of the product's own variant values (34的 -> 34cm,
  256的 -> 8+256G) when the linker found no attribute;
- the variant of the turn before, kept for a stock or price follow-up that names
  none (34的多少钱 -> 还有几个 asks about the 34 again), unless it asks about the
  other options (别的 / 哪些: cue list ``other_options``);
- the remembered variant of another option (the car model of a search) kept
  when the message names a value of a different option (黑色还有几套), so the
  stock answer narrows on both; a value of the same option replaces it, and
  那蓝色的呢 (a continuation) asks about the new value alone.

Product facts come from the cached catalogue (``TextCache.products``), which the
knowledge watcher refreshes with every change of the graph.
"""

from __future__ import annotations

import re
import unicodedata

from dialog.actions import GRAPH_DOWN
from dialog.clarify import OptionText, resolve_fragment
from dialog.policies.base import Knowledge, TextCache
from dialog.policies.product import resolve_attributes
from dialog.routing import Cues
from dialog.sibling_compare import CompareForms
from dialog.understand import Understanding
from schema.conversation import DialogState, SessionContext
from schema.types import EntityLink, ProductInfo, VariantInfo

_FILLER = re.compile(r"^(?:那|那个|那款|换成|换|要是|如果是|改成|有没有|看看|还有)+|(?:的|那款|那个|那种|款|呢|吗|嘛|"
                     r"有吗|有没有|怎么样|多少钱|咋样|如何|还有吗)+$")
_MAX_WORD = 8
_NUMBER = re.compile(r"(?<![\d.])\d{1,5}(?:\.\d+)?(?![\d.])")
# Questions whose variant a bare number names or the turn before carries.
CARRY_INTENTS = frozenset({"stock_check", "price_promotion"})
# A comparison of two products is a question about their attributes.
COMPARE_INTENT = "product_attribute"


def _norm(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").lower().replace(" ", "")


class ContextResolver:
    def __init__(self, knowledge: Knowledge, cache: TextCache, cues: Cues,
                 forms: CompareForms | None = None) -> None:
        self.knowledge = knowledge
        self.cache = cache
        self.cues = cues
        self.forms = forms or CompareForms.load()

    def apply(self, u: Understanding, ctx: SessionContext, product_intents: frozenset[str]) -> None:
        if ctx.state == DialogState.CLARIFY and ctx.pending_options and u.choice is None:
            index = resolve_fragment(u.text, self._options(ctx))
            if index is not None:
                u.choice = index + 1
                return
        if ctx.last_product_id and self._compare_with(u, ctx.last_product_id):
            return
        if u.product_link is None and ctx.last_product_id and self.cues.has("continuation", u.text):
            sibling = self._sibling(u.text, ctx.last_product_id)
            if sibling is not None:
                word, pid = sibling
                u.product_link = EntityLink(word, 0, len(word), "product", pid, 1.0)
                u.attributes = {k: v for k, v in u.attributes.items() if _norm(v) not in _norm(word)}
                if ctx.last_intent in product_intents and (u.unsure or u.intent not in product_intents):
                    u.intent, u.unsure = ctx.last_intent, False
                u.coreference = True
        if u.intent in CARRY_INTENTS and u.choice is None:
            self._variant_words(u, ctx)

    # --- a comparison with a product named by a fragment ---------------------------------
    def _compare_with(self, u: Understanding, current_id: str) -> bool:
        """跟大号的比 高多少: the fragment is a variant of the current product (its variants are
        compared) or names a sibling (the pair is compared); the fragment is never read as a
        variant the current product lacks, nor as a size question."""
        ask = self.forms.ask(u.text)
        if ask is None:
            return False
        own = self._own_values(_norm(ask.fragment), current_id)
        if own:
            u.compare_variant = own[0]
            u.compare_ids = (current_id,)
        else:
            sibling = self._sibling(ask.fragment, current_id)
            linked = (u.product_link.value if u.product_link and not u.product_link.candidates
                      and u.product_link.value != current_id else None)
            other = sibling[1] if sibling else linked
            if other is None:
                return False
            u.compare_ids = (current_id, other)
            u.attributes = {k: v for k, v in u.attributes.items() if _norm(v) not in _norm(ask.fragment)}
        u.compare_fragment, u.compare_measure = ask.fragment, ask.measure
        u.intent, u.unsure, u.coreference = COMPARE_INTENT, False, True
        return True

    def _own_values(self, word: str, current_id: str) -> list[str]:
        """The current product's option and variant values the word names (大号 -> 大号), if any."""
        current = self.cache.products.get(current_id)
        values = [v for vals in current.options.values() for v in vals] if current else []
        try:
            values += [val for v in self.knowledge.variants(current_id) for val in v.attributes.values()]
        except GRAPH_DOWN:  # without variants the options still count
            pass
        return [v for v in dict.fromkeys(values) if word in _norm(v) or _norm(v) in word]

    # --- variants of the product being discussed -------------------------------------------
    def _variant_words(self, u: Understanding, ctx: SessionContext) -> None:
        same = u.product_link is None or u.product_id == ctx.last_product_id
        product_id = u.product_id or ctx.last_product_id
        if product_id is None or (u.product_link is not None and u.product_link.candidates):
            return
        variants = self.knowledge.variants(product_id)
        if u.attributes:
            if (same and ctx.last_variant_attrs and not self.cues.has("other_options", u.text)
                    and not self.cues.has("continuation", u.text)):
                self._carry_other_kinds(u, ctx, product_id, variants)
            return
        values = list(dict.fromkeys(val for v in variants for val in v.attributes.values()))
        numbers = set(_NUMBER.findall(_norm(u.text)))
        if numbers:
            named = [v for v in values if numbers & set(_NUMBER.findall(_norm(v)))]
            if len(named) == 1:
                u.attributes[f"attribute:{named[0]}"] = named[0]
                return
        if (same and ctx.last_variant_attrs
                and not self.cues.has("other_options", u.text)):
            for value in ctx.last_variant_attrs.values():
                if value in values:  # only a value the product has as written (no family words)
                    u.attributes[f"attribute:{value}"] = value

    def _carry_other_kinds(self, u: Understanding, ctx: SessionContext, product_id: str,
                           variants: list[VariantInfo]) -> None:
        """黑色还有几套 after a search for one car model: the remembered variant of another
        option (the model) still holds, so the answer narrows on both. A remembered value of
        an option the message names again (蓝色 -> 那绿的呢) is replaced, not kept."""
        product = self.cache.products.get(product_id) or self.knowledge.product(product_id)
        if product is None:
            return
        matched, unknown = resolve_attributes(u, product, variants)
        if unknown or not matched:
            return  # a value this product does not have: the reply says so, on its own
        for value in ctx.last_variant_attrs.values():
            keys = {k for v in variants for k, val in v.attributes.items() if val == value}
            if keys and not keys & set(matched) and value not in matched.values():
                u.attributes[f"attribute:{value}"] = value

    # --- fragments ---------------------------------------------------------------------
    def _options(self, ctx: SessionContext) -> list[OptionText]:
        if ctx.pending_option_kind == "faq":
            return [OptionText(self.cache.faq[i].question if i in self.cache.faq else i) for i in ctx.pending_options]
        out = []
        for pid in ctx.pending_options:
            info = self.cache.products.get(pid) or self.knowledge.product(pid)
            if info is None:
                out.append(OptionText(pid))
                continue
            values = [v for vals in info.options.values() for v in vals]
            try:
                values += [val for v in self.knowledge.variants(pid) for val in v.attributes.values()]
            except GRAPH_DOWN:  # variants only sharpen the match; names suffice
                pass
            out.append(OptionText(info.display_name, tuple(dict.fromkeys(values)), info.price))
        return out

    # --- siblings ----------------------------------------------------------------------
    def _sibling(self, text: str, current_id: str) -> tuple[str, str] | None:
        word = _FILLER.sub("", _norm(text))
        if not word or len(word) > _MAX_WORD:
            return None
        current = self.cache.products.get(current_id)
        if current is None or word in _norm(current.name):
            return None
        if self._own_values(word, current_id):
            return None  # a variant of the product being discussed, not a sibling
        scored: list[tuple[float, str]] = []
        for pid, p in self.cache.products.items():
            if pid == current_id or word not in _norm(p.name) + "".join(_norm(a) for a in p.aliases):
                continue
            family = 2.0 * _same(p.brand, current.brand) + 1.0 * _same(p.category, current.category)
            if family == 0:
                continue
            scored.append((family + _name_overlap(p, current, word), pid))
        if not scored:
            return None
        scored.sort(reverse=True)
        if len(scored) > 1 and scored[0][0] == scored[1][0]:
            return None
        return word, scored[0][1]


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and a == b


def _name_overlap(p: ProductInfo, current: ProductInfo, word: str) -> float:
    """Share of the current name's characters the sibling keeps once the named word is removed."""
    rest = set(_norm(p.name).replace(word, ""))
    base = set(_norm(current.name))
    return len(rest & base) / max(len(base), 1)
