"""Writing a ``Plan`` to Neo4j in ``UNWIND`` batches.

Owns: the order of writes (deletes, shared category/brand nodes, upserts in
dependency order, policy targets, relinks of recreated nodes) and batching.
It writes through a ``Runner``: inside one managed transaction for an atomic
load, or one transaction per batch for the benchmark's chunked mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from graph.queries.catalog_write import (
    DELETES,
    Q_DROP_UNUSED_VALUES,
    Q_HAS_ORDERS,
    Q_LINK_POLICY_TARGETS,
    Q_MERGE_BRANDS,
    Q_MERGE_CATEGORIES,
    RELINKS,
    UPSERTS,
)
from ingest.models import ENTITY_TYPES
from ingest.plan import Plan
from ingest.states import ROW_BUILDERS, State, category_rows

logger = logging.getLogger(__name__)

Runner = Callable[..., Iterable[Any]]
"""``run(query, **params) -> records``.

Inside one transaction this is ``tx.run``: its result is not consumed here, so
the driver sends the next batch as soon as it is built, while Neo4j is still
writing the previous one; the next ``run`` (or the commit) collects it and
raises any error there, still inside the transaction.
"""


def _batches(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _shared_nodes(plan: Plan) -> tuple[set[str], set[str]]:
    categories: set[str] = set()
    brands: set[str] = set()
    for state in plan.entities["product"].upserts():
        if state["category"]:
            categories.add(state["category"])
        if state["brand"]:
            brands.add(state["brand"])
    for state in plan.entities["policy"].upserts():
        for targets in (state["applies_to"], state["excludes"]):
            categories.update(targets["categories"])
            brands.update(targets["brands"])
    for state in plan.entities["faq"].upserts():
        if state["about_category"]:
            categories.add(state["about_category"])
    return categories, brands


class PlanWriter:
    def __init__(self, run: Runner, batch_size: int = 5000,
                 progress: Callable[[int], None] | None = None) -> None:
        self._run = run
        self._batch = max(1, batch_size)
        self._progress = progress
        self._batches_done = 0

    def _write(self, label: str, query: str, key: str, rows: list[Any],
               build: Callable[[Any], Any] | None = None) -> None:
        """Run ``query`` once per batch of ``rows`` (built per batch by ``build``, if given)."""
        total = (len(rows) + self._batch - 1) // self._batch
        for n, chunk in enumerate(_batches(rows, self._batch), start=1):
            self._run(query, **{key: [build(item) for item in chunk] if build else chunk})
            self._batches_done += 1
            logger.debug("batch %s/%s of %s sent (%s rows)", n, total, label, len(chunk))
            if self._progress:
                self._progress(len(chunk))

    def write(self, plan: Plan) -> None:
        for entity in reversed(ENTITY_TYPES):
            deleted = plan.entities[entity].deleted
            if deleted:
                self._write(f"{entity} deletes", DELETES[entity], "ids", deleted)
        categories, brands = _shared_nodes(plan)
        if categories:
            self._write("categories", Q_MERGE_CATEGORIES, "rows", category_rows(categories))
        if brands:
            self._write("brands", Q_MERGE_BRANDS, "names", sorted(brands))
        upserts = {e: plan.entities[e].upserts_with_hashes() for e in ENTITY_TYPES}
        for entity in ("policy", "product", "variant"):
            self._upsert(entity, upserts[entity])
        if upserts["policy"]:
            # A policy's own targets may name products written just above.
            self._write("policy targets", Q_LINK_POLICY_TARGETS, "rows", upserts["policy"],
                        lambda pair: ROW_BUILDERS["policy"](*pair))
        for entity in ("faq", "order"):
            self._upsert(entity, upserts[entity])
        self._relink(plan)
        if upserts["product"] or upserts["variant"] or plan.entities["product"].deleted \
                or plan.entities["variant"].deleted:
            self._run(Q_DROP_UNUSED_VALUES)

    def _upsert(self, entity: str, states: list[tuple[State, str]]) -> None:
        if states:
            self._write(entity, UPSERTS[entity], "rows", states, lambda pair: ROW_BUILDERS[entity](*pair))

    def _relink(self, plan: Plan) -> None:
        """Restore relationships pointing at nodes this plan (re)created."""
        for entity in ("policy", "product"):
            created = sorted(plan.entities[entity].created)
            if created:
                self._write(f"{entity} relinks", RELINKS[entity], "ids", created)
        created_skus = sorted(plan.entities["variant"].created)
        if created_skus:
            records = list(self._run(Q_HAS_ORDERS))
            if records and records[0]["n"]:
                self._write("order relinks", RELINKS["variant"], "ids", created_skus)
