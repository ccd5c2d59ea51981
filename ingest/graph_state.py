"""Reading what the graph currently holds, for change detection, validation and diffs.

Owns: batched reads of content hashes, ids and entity states through one
transaction (``TxReader``), and ``DriverLookup``, the read-only view that
validation uses before any write transaction starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import neo4j

from graph.queries.catalog_write import ALL_IDS, HASHES, Q_VERSION, STATES
from ingest import states as st
from ingest.states import State

READ_BATCH = 20_000

_FROM_GRAPH: dict[str, Callable[..., State]] = {
    "product": st.product_from_graph,
    "variant": st.variant_from_graph,
    "faq": st.faq_from_graph,
    "order": st.order_from_graph,
}


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class TxReader:
    """Reads inside one (read or write) transaction, so they see one snapshot of our writes."""

    def __init__(self, tx: neo4j.ManagedTransaction | neo4j.Transaction) -> None:
        self._tx = tx

    def _run(self, query: str, **params: Any) -> list[neo4j.Record]:
        return list(self._tx.run(query, **params))

    def version(self) -> int:
        records = self._run(Q_VERSION)
        return int(records[0]["version"]) if records else 0

    def hashes(self, entity: str, ids: Iterable[str]) -> dict[str, str | None]:
        """id -> stored content hash, for the ids that exist."""
        out: dict[str, str | None] = {}
        for chunk in _chunks(list(ids), READ_BATCH):
            for r in self._run(HASHES[entity], ids=chunk):
                out.update(zip(r["ids"], (h or None for h in r["hashes"]), strict=True))
        return out

    def existing(self, entity: str, ids: Iterable[str]) -> set[str]:
        return set(self.hashes(entity, ids))

    def all_ids(self, entity: str, origin: str | None = None) -> set[str]:
        params = {"origin": origin} if entity == "faq" else {}
        return {eid for r in self._run(ALL_IDS[entity], **params) for eid in r["ids"]}

    def states(self, entity: str, ids: Iterable[str]) -> dict[str, State]:
        """id -> state as stored, for the ids that exist."""
        out: dict[str, State] = {}
        for chunk in _chunks(list(ids), READ_BATCH):
            for r in self._run(STATES[entity], ids=chunk):
                props = dict(r["props"])
                if entity == "policy":
                    out[r["id"]] = st.policy_from_graph(props, [dict(c) for c in r["clauses"]])
                else:
                    out[r["id"]] = _FROM_GRAPH[entity](props)
        return out

    def variant_stocks(self, skus: Iterable[str]) -> dict[str, int]:
        return {sku: s["stock"] for sku, s in self.states("variant", skus).items()}


class DriverLookup:
    """``ingest.validate.GraphLookup`` over a driver: each call is one read transaction."""

    def __init__(self, driver: neo4j.Driver, database: str) -> None:
        self._driver = driver
        self._database = database

    def _read(self, fn: Callable[[TxReader], Any]) -> Any:
        with self._driver.session(database=self._database, default_access_mode=neo4j.READ_ACCESS) as s:
            return s.execute_read(lambda tx: fn(TxReader(tx)))

    def existing(self, entity: str, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        return self._read(lambda r: r.existing(entity, wanted)) if wanted else set()

    def variant_stocks(self, skus: Iterable[str]) -> dict[str, int]:
        wanted = list(skus)
        return self._read(lambda r: r.variant_stocks(wanted)) if wanted else {}
