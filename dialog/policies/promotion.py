"""Promotion tiers read from policy clauses, and the arithmetic on a price.

Tiers are parsed from clause text in general Chinese promotion language, never
from one store's wording: ``满X减Y`` (once), ``每满X减Y`` (repeats, capped by
``最高减Z`` / open with ``上不封顶``), ``满X打N折`` / ``满X享N折``. A policy
is a promotion when one of its clauses states a tier. The stacking rule and
exclusions are the promotion's own clauses that talk about them (叠加,
同时使用; 不参与, 除外, 不适用); products excluded through the graph
(``EXCLUDES``) never see the promotion at all, because only clauses in force
for the product are read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from schema.types import ClauseInfo

_NUM = r"(\d+(?:\.\d+)?)"
_EVERY = re.compile(r"每满\s*" + _NUM + r"\s*元?\s*(?:可)?减\s*" + _NUM + r"\s*元?")
_ONCE = re.compile(r"(?<!每)满\s*" + _NUM + r"\s*元?\s*(?:立|可)?减\s*" + _NUM + r"\s*元?")
_PERCENT = re.compile(r"(?<!每)满\s*" + _NUM + r"\s*元?\s*(?:可)?(?:打|享|即享)?\s*" + _NUM + r"\s*折")
_CAP = re.compile(r"最高(?:可)?减\s*" + _NUM)
_STACKING = re.compile(r"叠加|同时使用|共享|同享|不可与|可与")
_EXCLUSION = re.compile(r"不参与|不参加|除外|不适用|不享受|不计入")
_SENTENCE_SPLIT = re.compile(r"(?<=[。；;])")


@dataclass(frozen=True)
class Tier:
    threshold: float
    off: float = 0.0          # money off
    rate: float | None = None  # pay this share (0.8 for 8折)
    every: bool = False
    cap: float | None = None
    clause_id: str = ""

    @property
    def label(self) -> str:
        if self.rate is not None:
            return f"满{self.threshold:g}打{_zhe(self.rate)}折"
        return f"{'每' if self.every else ''}满{self.threshold:g}减{self.off:g}"

    def discount(self, amount: float) -> float:
        if amount < self.threshold:
            return 0.0
        if self.rate is not None:
            return round(amount * (1 - self.rate), 2)
        if self.every:
            off = math.floor(amount / self.threshold + 1e-9) * self.off
            return min(off, self.cap) if self.cap is not None else off
        return self.off


def _zhe(rate: float) -> str:
    return f"{rate * 10:g}"


def _rate(text: str) -> float:
    value = float(text)
    return value / 100 if value >= 10 else value / 10


def parse_tiers(clause: ClauseInfo) -> list[Tier]:
    """Every tier the clause states, in the order written."""
    text = clause.text
    cap_m = _CAP.search(text)
    cap = float(cap_m.group(1)) if cap_m else None
    found: list[tuple[int, Tier]] = []
    for m in _EVERY.finditer(text):
        found.append((m.start(), Tier(float(m.group(1)), float(m.group(2)), every=True, cap=cap,
                                      clause_id=clause.clause_id)))
    for m in _ONCE.finditer(text):
        found.append((m.start(), Tier(float(m.group(1)), float(m.group(2)), clause_id=clause.clause_id)))
    for m in _PERCENT.finditer(text):
        rate = _rate(m.group(2))
        if 0 < rate < 1:
            found.append((m.start(), Tier(float(m.group(1)), rate=rate, clause_id=clause.clause_id)))
    return [t for _, t in sorted(found, key=lambda x: x[0])]


@dataclass(frozen=True)
class Promotion:
    policy_id: str
    title: str
    tiers: tuple[Tier, ...]
    stacking: tuple[ClauseInfo, ...]
    exclusions: tuple[ClauseInfo, ...]
    effective_from: datetime | None = None
    effective_to: datetime | None = None

    def best(self, amount: float) -> tuple[Tier | None, float]:
        """The tier that takes most off ``amount``, and how much."""
        best: tuple[Tier | None, float] = (None, 0.0)
        for tier in self.tiers:
            off = tier.discount(amount)
            if off > best[1]:
                best = (tier, off)
        return best

    def next_tier(self, amount: float) -> Tier | None:
        """The lowest threshold not reached yet (再凑多少)."""
        above = [t for t in self.tiers if t.threshold > amount]
        return min(above, key=lambda t: t.threshold) if above else None


def promotions(clauses: Iterable[ClauseInfo]) -> list[Promotion]:
    """Group clauses by policy; a policy with at least one tier is a promotion."""
    by_policy: dict[str, list[ClauseInfo]] = {}
    for c in clauses:
        by_policy.setdefault(c.policy_id, []).append(c)
    out = []
    for pid, items in by_policy.items():
        items = sorted(items, key=lambda c: c.order)
        tiers = tuple(t for c in items for t in parse_tiers(c))
        if not tiers:
            continue
        out.append(Promotion(
            policy_id=pid, title=items[0].policy_title, tiers=tiers,
            stacking=tuple(c for c in items if _STACKING.search(c.text)),
            exclusions=tuple(c for c in items if _EXCLUSION.search(c.text)),
            effective_from=items[0].effective_from, effective_to=items[0].effective_to))
    return out


def rule_sentences(clauses: Sequence[ClauseInfo], pattern: re.Pattern[str]) -> list[str]:
    """The sentences of the clauses that state the rule (叠加, 不参与...)."""
    out = []
    for c in clauses:
        for sentence in _SENTENCE_SPLIT.split(c.text):
            for part in re.split(r"[，,]", sentence):
                if pattern.search(part) and part.strip():
                    out.append(part.strip().rstrip("。；;"))
    return list(dict.fromkeys(out))


def stacking_rule(promo: Promotion) -> list[str]:
    return rule_sentences(promo.stacking, _STACKING)


def exclusion_rule(promo: Promotion) -> list[str]:
    return rule_sentences(promo.exclusions, _EXCLUSION)


_TITLE_NOISE = re.compile(r"大促|活动|规则|促销|优惠|说明|专场|狂欢")


def title_core(title: str) -> str:
    """The name a shopper would use for a promotion (双11大促活动规则 -> 双11)."""
    return _TITLE_NOISE.sub("", title).strip() or title


def named_in(text: str, promo: Promotion) -> bool:
    """The shopper names this promotion: its title's core or one of its tiers."""
    folded = text.lower().replace(" ", "")
    core = title_core(promo.title).lower()
    if len(core) >= 2 and core in folded:
        return True
    return any(t.label.removeprefix("每") in folded for t in promo.tiers)
