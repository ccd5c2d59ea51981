"""Validation of a whole load before anything is written.

Owns: field checks (through ``schema.records``), duplicate ids within the
load, references (policy ids, product ids, SKUs) checked against the valid
records of the load *and* the graph, and stock deltas that would go negative.
Every problem becomes a ``ValidationIssue`` (``file:line field: reason``); a
record with any issue is rejected, and rejections cascade (a product whose
only policy was rejected is rejected too).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from ingest.models import Rejection, ValidationIssue
from ingest.readers import KIND_ENTITY, KIND_ID, RawRecord
from ingest.states import inline_faq_id
from schema.records import FAQRecord, OrderRecord, PolicyRecord, ProductRecord, StockUpdate

MODELS: dict[str, type[BaseModel]] = {
    "products": ProductRecord,
    "policies": PolicyRecord,
    "faq": FAQRecord,
    "orders": OrderRecord,
    "stock": StockUpdate,
}


class GraphLookup(Protocol):
    """What validation needs to know about the graph."""

    def existing(self, entity: str, ids: Iterable[str]) -> set[str]: ...

    def variant_stocks(self, skus: Iterable[str]) -> dict[str, int]: ...


@dataclass
class ValidatedLoad:
    """The accepted records by kind, in input order, plus everything rejected."""

    accepted: dict[str, list[tuple[RawRecord, Any]]]
    issues: list[ValidationIssue] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    rejected_counts: Counter[str] = field(default_factory=Counter)

    def records(self, kind: str) -> list[Any]:
        return [rec for _, rec in self.accepted.get(kind, [])]


def _field_name(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(record)"


def _reason(msg: str) -> str:
    return msg.removeprefix("Value error, ")


class _Checker:
    def __init__(self, raws: list[RawRecord], graph: GraphLookup) -> None:
        self.raws = raws
        self.graph = graph
        self.models: dict[int, Any] = {}
        self.issues: dict[int, list[ValidationIssue]] = defaultdict(list)

    def flag(self, i: int, fld: str, reason: str, line: int | None = None) -> None:
        raw = self.raws[i]
        self.issues[i].append(ValidationIssue(file=raw.file, line=line or raw.line, field=fld, reason=reason))

    def ok(self, i: int) -> bool:
        return i in self.models and not self.issues.get(i)

    def parse(self) -> None:
        for i, raw in enumerate(self.raws):
            self.issues[i].extend(raw.issues)
            try:
                self.models[i] = MODELS[raw.kind].model_validate(raw.data)
            except ValidationError as e:
                read_flagged = {issue.field for issue in raw.issues}  # e.g. an unmapped status, said once
                for err in e.errors():
                    loc = err["loc"]
                    if _field_name(loc) in read_flagged:
                        continue
                    line = raw.line
                    if raw.variant_lines and len(loc) > 1 and loc[0] == "variants" and isinstance(loc[1], int):
                        line = raw.variant_lines[loc[1]] if loc[1] < len(raw.variant_lines) else line
                    self.flag(i, _field_name(loc), _reason(err["msg"]), line)

    def duplicates(self) -> None:
        Place = tuple[int, str, int | None]
        first: dict[tuple[str, str], Place] = {}
        dups: dict[tuple[str, str], list[Place]] = {}

        def see(key: tuple[str, str], place: Place) -> None:
            earlier = first.setdefault(key, place)
            if earlier is not place:
                dups.setdefault(key, [earlier]).append(place)

        for i, raw in enumerate(self.raws):
            id_field = KIND_ID[raw.kind]
            # Stock: the same SKU in two files is applied in order; twice in one file is a mistake.
            key = f"stock:{raw.file}" if raw.kind == "stock" else id_field
            model = self.models.get(i)
            record_id = getattr(model, id_field) if model is not None else raw.record_id
            if record_id is not None:
                see((key, record_id.strip()), (i, id_field, None))
            if raw.kind == "products" and model is not None:
                for n, v in enumerate(model.variants):
                    line = raw.variant_lines[n] if n < len(raw.variant_lines) else None
                    see(("sku", v.sku), (i, f"variants[{n}].sku", line))
                for n in range(1, len(model.faq) + 1):
                    see(("faq_id", inline_faq_id(model.product_id, n)), (i, "faq", None))
        for (key, value), places in dups.items():
            name = "sku" if key.startswith("stock:") else key
            for i, fld, line in places:
                others = [f"{self.raws[j].file}:{ln or self.raws[j].line}" + (f" {f2}" if j == i else "")
                          for j, f2, ln in places if (j, f2, ln) != (i, fld, line)]
                self.flag(i, fld, f"duplicate {name} {value} in this load (also at {', '.join(others[:3])})",
                          line)

    def references(self) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for i, model in self.models.items():
            for entity, ref, _ in self._refs(i, model):
                wanted[entity].add(ref)
        in_graph = {entity: self.graph.existing(entity, sorted(ids)) for entity, ids in wanted.items()}
        flagged: set[tuple[int, str]] = set()
        while True:  # until no new rejection cascades
            valid = self._valid_ids()
            changed = False
            for i, model in self.models.items():
                for entity, ref, fld in self._refs(i, model):
                    if (i, fld) in flagged or ref in valid[entity] or ref in in_graph.get(entity, set()):
                        continue
                    label = {"variant": "SKU"}.get(entity, entity)
                    self.flag(i, fld, f"unknown {label} {ref} (not in this load nor in the graph)")
                    flagged.add((i, fld))
                    changed = True
            if not changed:
                return

    def _refs(self, i: int, model: Any) -> list[tuple[str, str, str]]:
        kind = self.raws[i].kind
        if kind == "products":
            return [("policy", p, f"policies[{n}]") for n, p in enumerate(model.policies)]
        if kind == "policies":
            return ([("product", p, f"applies_to.products[{n}]") for n, p in enumerate(model.applies_to.products)]
                    + [("product", p, f"excludes.products[{n}]") for n, p in enumerate(model.excludes.products)])
        if kind == "faq" and model.about is not None:
            refs = []
            if model.about.product_id:
                refs.append(("product", model.about.product_id, "about.product_id"))
            if model.about.policy_id:
                refs.append(("policy", model.about.policy_id, "about.policy_id"))
            return refs
        if kind == "orders":
            return [("variant", item.sku, f"items[{n}].sku") for n, item in enumerate(model.items)]
        if kind == "stock":
            return [("variant", model.sku, "sku")]
        return []

    def _valid_ids(self) -> dict[str, set[str]]:
        valid: dict[str, set[str]] = defaultdict(set)
        for i, model in self.models.items():
            if not self.ok(i):
                continue
            kind = self.raws[i].kind
            if kind == "products":
                valid["product"].add(model.product_id)
                valid["variant"].update(v.sku for v in model.variants)
            elif kind == "policies":
                valid["policy"].add(model.policy_id)
        return valid

    def stock_levels(self) -> None:
        """Stock updates apply in order on top of the load's variants or the graph's."""
        current: dict[str, int] = {}
        for i, model in self.models.items():
            if self.raws[i].kind == "products" and self.ok(i):
                current.update({v.sku: v.stock for v in model.variants})
        stock_rows = [i for i, m in self.models.items() if self.raws[i].kind == "stock" and self.ok(i)]
        missing = {self.models[i].sku for i in stock_rows} - current.keys()
        current.update(self.graph.variant_stocks(sorted(missing)) if missing else {})
        for i in stock_rows:
            update: StockUpdate = self.models[i]
            base = current.get(update.sku, 0)
            new = update.stock if update.stock is not None else base + (update.delta or 0)
            if new < 0:
                self.flag(i, "delta", f"stock would become {new} (current {base}, delta {update.delta})")
                continue
            current[update.sku] = new


def validate(
    raws: list[RawRecord], read_issues: list[ValidationIssue], graph: GraphLookup, kinds_by_file: dict[str, str]
) -> ValidatedLoad:
    """Check every record; return the accepted ones and every issue, in file order."""
    checker = _Checker(raws, graph)
    checker.parse()
    checker.duplicates()
    checker.references()
    checker.stock_levels()
    result = ValidatedLoad(accepted=defaultdict(list))
    for issue in read_issues:
        kind = kinds_by_file.get(issue.file, "products")
        result.rejected.append(Rejection(file=issue.file, line=issue.line, kind=kind, errors=[str(issue)]))
        result.rejected_counts[KIND_ENTITY[kind]] += 1
    result.issues.extend(read_issues)
    for i, raw in enumerate(raws):
        problems = checker.issues.get(i)
        if problems:
            result.issues.extend(problems)
            result.rejected.append(Rejection(file=raw.file, line=raw.line, kind=raw.kind, id=raw.record_id,
                                             errors=[str(p) for p in problems], record=raw.data))
            result.rejected_counts[raw.entity] += 1
        else:
            result.accepted[raw.kind].append((raw, checker.models[i]))
    result.issues.sort(key=lambda s: (s.file, s.line))
    return result
