"""Which variants of one product the shopper named: 粉的 (a colour word for the
store's 樱花粉), 26寸, or a part of a value such as a pack unit (整提 of 整提7饼).

Attribute words are matched onto the product's own values with
``retrieval.variant_match.match_values`` (exact, size, number, contains, colour
family...). Without an attribute word, a value whose Chinese run of two or more
characters occurs in the message names its variants, when it narrows the
choice. Nothing here knows a store: the variants are the argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from retrieval.variant_match import match_values
from schema.types import VariantInfo

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def variants_named_in(text: str, variants: Sequence[VariantInfo]) -> list[VariantInfo]:
    """Variants with a value whose Chinese run occurs in ``text``; [] when none, or when all do."""
    hits = [v for v in variants
            if any(run in text for value in v.attributes.values() for run in _CJK_RUN.findall(str(value)))]
    return hits if 0 < len(hits) < len(variants) else []


def chosen_variants(variants: Sequence[VariantInfo], wanted: Mapping[str, str | Sequence[str]],
                    text: str = "") -> list[VariantInfo]:
    """The variants that every named attribute word (or, without any, the message) picks out.

    A word this product has no value for does not narrow (the caller says what
    exists); the result is never empty when ``variants`` is not.
    """
    chosen = list(variants)
    for words in wanted.values():
        words = (words,) if isinstance(words, str) else tuple(words)
        values = list(dict.fromkeys(str(val) for v in chosen for val in v.attributes.values()))
        hits: set[str] = set()
        for word in words:
            hits = {m.value for m in match_values(word, values)}
            if hits:
                break
        narrowed = [v for v in chosen if hits & {str(x) for x in v.attributes.values()}]
        chosen = narrowed or chosen
    if not wanted and text:
        chosen = variants_named_in(text, chosen) or chosen
    return chosen
