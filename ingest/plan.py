"""Working out what a load would change: created, updated, unchanged, deleted.

Owns: turning validated records into the desired entity states
(``desired_states``), applying stock updates on top, and comparing them with
the graph's content hashes (``build_plan``). The resulting ``Plan`` is what
``ingest.writer`` writes, what a load summary counts and what a change set
stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.errors import InputError, WriteAborted
from ingest.graph_state import TxReader
from ingest.models import ENTITY_TYPES, ChangeSummary, EntityCounts
from ingest.states import (
    State,
    apply_stock,
    content_hash,
    faq_state,
    order_state,
    policy_state,
    product_states,
)
from ingest.validate import ValidatedLoad
from schema.records import StockUpdate

# Which entity types (and FAQ origin) a kind of file owns, for --prune.
PRUNE_SCOPES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "products": (("product", None), ("variant", None), ("faq", "product")),
    "policies": (("policy", None),),
    "faq": (("faq", "faq"),),
    "orders": (("order", None),),
    "stock": (),
}


@dataclass
class Desired:
    """The states a load asks for, by entity type and id, plus stock updates to apply on top."""

    states: dict[str, dict[str, State]] = field(default_factory=lambda: {e: {} for e in ENTITY_TYPES})
    stock_updates: list[StockUpdate] = field(default_factory=list)
    prune_scopes: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class EntityPlan:
    created: dict[str, State] = field(default_factory=dict)
    updated: dict[str, State] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Hash before the change for every touched id (None: did not exist).
    base: dict[str, str | None] = field(default_factory=dict)
    # State before the change of updated and deleted ids (filled on request).
    before: dict[str, State] = field(default_factory=dict)
    # Content hash of each created / updated state, once computed.
    hashes: dict[str, str] = field(default_factory=dict)

    def upserts(self) -> list[State]:
        return [*self.created.values(), *self.updated.values()]

    def upserts_with_hashes(self) -> list[tuple[State, str]]:
        out = []
        for eid, state in (*self.created.items(), *self.updated.items()):
            digest = self.hashes.get(eid)
            if digest is None:
                digest = self.hashes[eid] = content_hash(state)
            out.append((state, digest))
        return out

    @property
    def changed(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)


@dataclass
class Plan:
    entities: dict[str, EntityPlan] = field(default_factory=lambda: {e: EntityPlan() for e in ENTITY_TYPES})

    @property
    def has_changes(self) -> bool:
        return any(p.changed for p in self.entities.values())

    @property
    def write_rows(self) -> int:
        return sum(len(p.upserts()) + len(p.deleted) for p in self.entities.values())

    def counts(self, entities: Iterable[str], rejected: dict[str, int] | None = None) -> dict[str, EntityCounts]:
        rejected = rejected or {}
        out = {}
        for entity in ENTITY_TYPES:
            if entity not in entities and not rejected.get(entity):
                continue
            p = self.entities[entity]
            out[entity] = EntityCounts(created=len(p.created), updated=len(p.updated),
                                       unchanged=len(p.unchanged), deleted=len(p.deleted),
                                       rejected=rejected.get(entity, 0))
        return out

    def change_summary(self, source: str, version: int, change_set_id: str | None = None) -> ChangeSummary:
        return ChangeSummary(
            source=source,  # type: ignore[arg-type]
            change_set_id=change_set_id,
            knowledge_version=version,
            created={e: sorted(p.created) for e, p in self.entities.items() if p.created},
            updated={e: sorted(p.updated) for e, p in self.entities.items() if p.updated},
            deleted={e: sorted(p.deleted) for e, p in self.entities.items() if p.deleted},
        )


def desired_states(load: ValidatedLoad, salt: str | None, prune: bool) -> Desired:
    """States by entity type; orders need the phone-hash ``salt``."""
    desired = Desired()
    s = desired.states
    for rec in load.records("policies"):
        s["policy"][rec.policy_id] = policy_state(rec)
    for rec in load.records("products"):
        product, variants, faqs = product_states(rec)
        s["product"][rec.product_id] = product
        s["variant"].update((v["sku"], v) for v in variants)
        s["faq"].update((f["faq_id"], f) for f in faqs)
    for rec in load.records("faq"):
        s["faq"][rec.faq_id] = faq_state(rec)
    orders = load.records("orders")
    if orders and not salt:
        raise InputError("orders can only be loaded with the phone hash salt (settings.phone_hash_salt)")
    for rec in orders:
        s["order"][rec.order_id] = order_state(rec, salt or "")
    desired.stock_updates = load.records("stock")
    if prune:
        for kind, records in load.accepted.items():
            if not records:
                continue
            for entity, origin in PRUNE_SCOPES[kind]:
                # Never prune a type some of whose records were rejected: they are
                # missing from the load by mistake, not by intent.
                if load.rejected_counts.get(entity):
                    continue
                if (entity, origin) not in desired.prune_scopes:
                    desired.prune_scopes.append((entity, origin))
    return desired


def touched_entities(desired: Desired) -> set[str]:
    """Entity types the load has records of (shown in the summary)."""
    out = {e for e, states in desired.states.items() if states}
    if desired.stock_updates:
        out.add("variant")
    out.update(e for e, _ in desired.prune_scopes)
    return out


def build_plan(reader: TxReader, desired: Desired, with_before: bool = False) -> Plan:
    """Compare the desired states with the graph as ``reader`` sees it."""
    states = {e: dict(v) for e, v in desired.states.items()}
    if desired.stock_updates:
        _apply_stock_updates(reader, states["variant"], desired.stock_updates)
    plan = Plan()
    for entity in ENTITY_TYPES:
        wanted = states[entity]
        ep = plan.entities[entity]
        current = reader.hashes(entity, wanted.keys()) if wanted else {}
        for eid, state in wanted.items():
            new_hash = content_hash(state)
            if eid not in current:
                ep.created[eid] = state
                ep.base[eid] = None
                ep.hashes[eid] = new_hash
            elif current[eid] == new_hash:
                ep.unchanged.append(eid)
            else:
                ep.updated[eid] = state
                ep.base[eid] = current[eid]
                ep.hashes[eid] = new_hash
    for entity, origin in desired.prune_scopes:
        ep = plan.entities[entity]
        gone = sorted(reader.all_ids(entity, origin) - states[entity].keys())
        if gone:
            ep.deleted.extend(gone)
            ep.base.update(reader.hashes(entity, gone))
    if with_before:
        for entity, ep in plan.entities.items():
            wanted_ids = [*ep.updated, *ep.deleted]
            if wanted_ids:
                ep.before = reader.states(entity, wanted_ids)
    return plan


def _apply_stock_updates(reader: TxReader, variants: dict[str, State], updates: list[StockUpdate]) -> None:
    missing = sorted({u.sku for u in updates} - variants.keys())
    from_graph = reader.states("variant", missing) if missing else {}
    for update in updates:
        base = variants.get(update.sku) or from_graph.get(update.sku)
        if base is None:
            raise WriteAborted(f"stock update for unknown SKU {update.sku} (deleted since validation?)")
        try:
            variants[update.sku] = apply_stock(base, update)
        except ValueError as e:
            raise WriteAborted(f"SKU {update.sku}: {e}") from e
