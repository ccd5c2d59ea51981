"""The entity linker's lookup tables, derived from a :class:`CatalogLexicon`.

Owns: expanding catalogue surfaces into the forms shoppers type (product
names without the brand, colour words without 色 and colour synonyms, 加大号
for XL, ``37码`` for 37, ``256g`` for 256GB, lipstick shade names), keying
them for exact, fuzzy and pinyin lookup, and writing the jieba user
dictionary. Pure data work: no jieba, no model, no graph.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from retrieval.entity_ids import id_forms, id_schemes, product_ids
from retrieval.normalize import SIZE_WORDS, color_aliases, model_key, normalize_size, pinyin_key
from retrieval.quantity import load_units
from retrieval.variant_match import family_members, load_color_families
from schema.lexicon import CatalogLexicon, LexiconEntry

# Which kinds of surface a shopper's wording can match, best first.
SOURCE_RANK = {"id": 0, "name": 0, "alias": 1, "brand": 1, "category": 1, "attribute": 1, "derived": 2,
               "family": 3}
# Surfaces that only match exactly: an id one character off is another product, not a typo.
EXACT_ONLY_SOURCES = frozenset({"id"})
USERDICT_FREQ = 3000
FUZZY_TYPES = frozenset({"product", "brand", "category"})
_CJK = re.compile(r"[\u3400-\u9fff]")
_SHADE = re.compile(r"^#(\d+)\s*(.+)$")
_STORAGE = re.compile(r"^(\d+)(gb|tb)$", re.IGNORECASE)
_NUMERIC = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class Surface:
    """One typed form: its key (``model_key``), and the lexicon entry it stands for."""

    key: str
    entry: LexiconEntry
    source: str  # the entry's source, or "derived"


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def color_base(value: str) -> str:
    """Colour values that differ only by a trailing 色 or a shade number are the same colour."""
    m = _SHADE.match(value)
    core = m.group(2) if m else value
    return core[:-1] if core.endswith("色") and len(core) > 1 else core


def _derived(entry: LexiconEntry, surface: str) -> LexiconEntry:
    return LexiconEntry(surface, entry.type, entry.value, entry.product_ids, entry.attribute, "derived")


def _product_forms(entry: LexiconEntry, brands: set[str]) -> list[str]:
    """名 without the brand prefix, and its first CJK segment with and without the brand."""
    parts = entry.surface.split()
    if len(parts) < 2 or parts[0] not in brands:
        return []
    forms = [" ".join(parts[1:])]
    if len(parts) >= 3 and has_cjk(parts[1]) and len(parts[1]) >= 3:
        forms += [parts[1], parts[0] + parts[1]]
    return forms


def _size_forms(value: str) -> list[str]:
    """What shoppers type for a size value; a store value such as ``L码`` or ``39码`` gets the forms of its size."""
    canon = normalize_size(value)
    if canon is not None and canon != value:
        return [f for f in (canon, *_size_forms(canon)) if f != value]
    if _NUMERIC.match(value):
        return [value + "码", value + "号"]
    forms = [value + "码", value + "号"] if value.isascii() else []
    forms += [alt for alt, canon in (("2xl", "XXL"), ("3xl", "XXXL")) if canon == value]
    forms += [word for word, canon in SIZE_WORDS if canon == value]
    return forms


def _attribute_forms(value: str) -> list[str]:
    m = _STORAGE.match(value)
    if m:
        return [m.group(1) + m.group(2)[0], m.group(1) + " " + m.group(2)]
    return []


def expand(lexicon: CatalogLexicon) -> list[Surface]:
    """Every surface the linker can match, catalogue forms first, then derived ones."""
    brands = set(lexicon.values("brand"))
    out = [Surface(model_key(e.surface), e, e.source or "attribute") for e in lexicon.entries]
    colors: dict[str, LexiconEntry] = {}
    for e in lexicon.entries:
        if e.type == "product" and e.source == "name":
            out += [Surface(model_key(f), _derived(e, f), "derived") for f in _product_forms(e, brands)]
        elif e.type == "size":
            out += [Surface(model_key(f), _derived(e, f), "derived") for f in _size_forms(e.value)]
        elif e.type == "attribute":
            out += [Surface(model_key(f), _derived(e, f), "derived") for f in _attribute_forms(e.value)]
        elif e.type == "color":
            colors.setdefault(e.value, e)
            m = _SHADE.match(e.value)
            if m:
                out += [Surface(model_key(f), _derived(e, f), "derived")
                        for f in (m.group(2), "#" + m.group(1))]
    shade_names = {_SHADE.match(v).group(2): v for v in colors if _SHADE.match(v)}  # type: ignore[union-attr]
    plain = [v for v in colors if not _SHADE.match(v)]
    for word, value in color_aliases(list(shade_names) + plain).items():
        value = shade_names.get(value, value)
        out.append(Surface(model_key(word), _derived(colors[value], word), "derived"))
    for v in plain:  # 红 -> 红色 / 红的 when only the bare character is stored
        if len(v) == 1:
            for word in (v + "色", v + "的"):
                out.append(Surface(model_key(word), _derived(colors[v], word), "derived"))
    out += _family_surfaces(colors)
    out += [Surface(model_key(form), LexiconEntry(form, "product", pid, (pid,), None, "id"), "id")
            for pid in product_ids(lexicon) for form in id_forms(pid)]
    return [s for s in out if s.key]


def _family_surfaces(colors: dict[str, LexiconEntry]) -> list[Surface]:
    """灰色 / 灰的 / 蓝色 ... for every colour family the catalogue has, whatever it calls its colours.

    The entry's value is the family's first catalogue colour, its product ids
    those of every colour in the family; the linker offers the other members
    as candidates, so each product finds its own grey (石墨灰, 银灰, ...).
    """
    out = []
    values = list(colors)
    for word in load_color_families().family_words():
        members = family_members(word, values)
        if not members or word in colors:
            continue
        ids = tuple(sorted({p for m in members for p in colors[m].product_ids}))
        out.append(Surface(model_key(word), LexiconEntry(word, "color", members[0], ids, "color", "family"),
                           "family"))
    return out


def requires_alignment(key: str) -> bool:
    """Short Chinese surfaces (手机 in 手机号) must line up with jieba's word boundaries."""
    return has_cjk(key) and len(key) <= 2


class SurfaceIndex:
    """Exact, pinyin and fuzzy-candidate tables over the expanded surfaces."""

    def __init__(self, lexicon: CatalogLexicon) -> None:
        self.lexicon = lexicon
        self.surfaces = expand(lexicon)
        exact: dict[str, list[Surface]] = defaultdict(list)
        for s in self.surfaces:
            exact[s.key].append(s)
        self.exact: dict[str, tuple[Surface, ...]] = {k: tuple(v) for k, v in exact.items()}
        self.max_key_len = max((len(k) for k in self.exact), default=0)
        names = sorted(k for k, v in self.exact.items()
                       if len(k) >= 2 and any(s.entry.type in FUZZY_TYPES and s.source not in EXACT_ONLY_SOURCES
                                              for s in v))
        by_len: dict[int, list[str]] = defaultdict(list)
        for key in names:
            by_len[len(key)].append(key)
        self.names_by_len: dict[int, tuple[str, ...]] = {n: tuple(v) for n, v in by_len.items()}
        pinyin: dict[str, list[Surface]] = defaultdict(list)
        for key in names:
            if has_cjk(key):
                for s in self.exact[key]:
                    if s.entry.type in FUZZY_TYPES and s.source not in EXACT_ONLY_SOURCES:
                        pinyin[pinyin_key(key)].append(s)
        self.pinyin: dict[str, tuple[Surface, ...]] = {k: tuple(v) for k, v in pinyin.items()}
        self.brand_products: dict[str, frozenset[str]] = {
            e.value: frozenset(e.product_ids) for e in lexicon.of_type("brand")}
        # The products offering each colour, size or option value (a brand's products narrow by them).
        value_products: dict[tuple[str, str], set[str]] = defaultdict(set)
        for e in lexicon.entries:
            if e.type in ("color", "size", "attribute"):
                value_products[(e.type, e.value)].update(e.product_ids)
        self.value_products: dict[tuple[str, str], frozenset[str]] = {
            k: frozenset(v) for k, v in value_products.items()}
        self.category_products: dict[str, frozenset[str]] = {
            e.value: frozenset(e.product_ids) for e in lexicon.of_type("category")}
        # Each product's option values by property (a value named by a part of it narrows a family).
        product_values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        # Option values by the amount they state (250g, 礼盒装200g): 半斤 in a message finds them.
        units = load_units()
        quantity_values: dict[tuple[str, float], dict[tuple[str, str], None]] = defaultdict(dict)
        for e in lexicon.entries:
            if e.type in ("size", "attribute") or (e.type == "color" and e.source != "family"):
                for pid in e.product_ids:
                    product_values[pid][e.attribute or e.type].add(e.value)
            if e.type in ("size", "attribute"):
                q = units.first(e.value)
                if q is not None:
                    quantity_values[q.key][(e.type, e.value)] = None
        self.product_values: dict[str, dict[str, frozenset[str]]] = {
            pid: {k: frozenset(v) for k, v in by.items()} for pid, by in product_values.items()}
        self.quantity_values: dict[tuple[str, float], tuple[tuple[str, str], ...]] = {
            k: tuple(v) for k, v in quantity_values.items()}
        self._choices: dict[tuple[int, float], tuple[str, ...]] = {}
        self.color_groups: dict[str, tuple[str, ...]] = {}
        groups: dict[str, list[str]] = defaultdict(list)
        for v in lexicon.values("color"):
            groups[color_base(v)].append(v)
        colours = list(lexicon.values("color"))
        for members in groups.values():
            for v in members:
                # A value that names a whole family (蓝色) also stands for the family's other colours.
                family = family_members(v, colours)
                self.color_groups[v] = tuple(dict.fromkeys(m for m in (*members, *family) if m != v))
        self.color_families: dict[str, tuple[str, ...]] = {
            s.key: family_members(s.entry.surface, colours) for s in self.surfaces if s.source == "family"}
        self.id_schemes = id_schemes(product_ids(lexicon))

    def fuzzy_choices(self, length: int, threshold: float) -> tuple[str, ...]:
        """Product/brand/category keys of a length that can reach ``threshold`` (0-100) on ratio.

        ratio = 2 * matches / (len1 + len2) <= 2 * min / (len1 + len2), so the
        shorter/longer length ratio must be at least t / (2 - t). Memoised per length.
        """
        found = self._choices.get((length, threshold))
        if found is None:
            t = threshold / 100.0
            bound = t / (2.0 - t)
            found = tuple(k for n, keys in sorted(self.names_by_len.items())
                          if min(n, length) / max(n, length) >= bound for k in keys)
            self._choices[(length, threshold)] = found
        return found

    def userdict_lines(self) -> list[str]:
        """jieba user-dictionary lines (``word freq``) for the Chinese surfaces.

        A fixed, common-word frequency keeps catalogue words whole next to
        characters that also form words (墨白家 -> 墨白 / 家, not 墨 / 白家).
        """
        words = sorted({s.key for s in self.surfaces if has_cjk(s.key) and len(s.key) >= 2})
        return [f"{w} {USERDICT_FREQ}" for w in words]


def write_userdict(index: SurfaceIndex, root: Path, keep: int = 3) -> Path:
    """Write ``<root>/<version>-<content hash>/userdict.txt`` (once) and return its path.

    Only the ``keep`` most recently written dictionaries stay on disk.
    """
    content = "\n".join(index.userdict_lines()) + "\n"
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]
    safe_version = re.sub(r"[^\w.\-]", "_", index.lexicon.version) or "unversioned"
    path = root / f"{safe_version}-{digest}" / "userdict.txt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
        _prune(root, keep, path.parent)
    return path


def _prune(root: Path, keep: int, current: Path) -> None:
    folders = sorted((p for p in root.iterdir() if (p / "userdict.txt").is_file()),
                     key=lambda p: (p / "userdict.txt").stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
