"""Operators' change sets: review a diff first, apply it later, roll it back.

Owns: ``ChangeSetService`` (the Python API the CLI and the Flask API call).

- ``create`` validates files or records and computes the diff against the
  graph without touching the catalogue; it stores a pending ``(:ChangeSet)``
  with the diff and the content hash of every touched entity.
- ``apply`` runs in one transaction: every touched entity must still have the
  hash recorded at create time (otherwise ``StaleChangeSetError`` names the
  conflicting ids and nothing is written); it records the before values and
  the after hashes, and bumps the knowledge version.
- ``rollback`` restores exactly the before values (deleting what the change
  set created, recreating what it deleted) in one transaction, after checking
  that nothing changed since the apply.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neo4j
from pydantic import BaseModel

from graph.queries.changesets import Q_CREATE, Q_GET, Q_GET_FOR_UPDATE, Q_LIST, Q_UPDATE
from ingest import changeset_codec as codec
from ingest.errors import ChangeSetNotFound, ChangeSetStateError, StaleChangeSetError, ValidationFailed
from ingest.graph_state import DriverLookup, TxReader
from ingest.loader import PreparedLoad, bump_version, prepare, take_lock, too_large_is_final
from ingest.models import ChangeSet, ChangeSummary
from ingest.plan import EntityPlan, Plan, build_plan, desired_states, touched_entities
from ingest.readers import RawRecord
from ingest.states import content_hash
from ingest.validate import validate
from ingest.vocab import EMPTY, StoreVocabulary
from ingest.writer import PlanWriter
from schema.records import FAQRecord, OrderRecord, PolicyRecord, ProductRecord, StockUpdate

logger = logging.getLogger(__name__)

_RECORD_KINDS: dict[type[BaseModel], str] = {
    ProductRecord: "products", PolicyRecord: "policies", FAQRecord: "faq", OrderRecord: "orders",
    StockUpdate: "stock",
}
AnyRecord = ProductRecord | PolicyRecord | FAQRecord | OrderRecord | StockUpdate


def _new_id() -> str:
    return datetime.now(UTC).strftime("CS-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class ChangeSetService:
    """Create, inspect, apply and roll back change sets.

    ``phone_salt`` is needed only for change sets that contain orders.
    ``on_change`` receives a ``ChangeSummary`` after every committed apply or
    rollback that changed something (the vector index hook).
    """

    def __init__(self, driver: neo4j.Driver, database: str, *, phone_salt: str | None = None,
                 batch_size: int = 5000,
                 on_change: Callable[[ChangeSummary], None] | None = None,
                 vocab: StoreVocabulary = EMPTY) -> None:
        self._vocab = vocab
        self._driver = driver
        self._database = database
        self._salt = phone_salt
        self._batch = batch_size
        self._on_change = on_change

    # --- create -------------------------------------------------------------------------
    def create(self, source: Sequence[Path] | Sequence[AnyRecord], author: str, *, kind: str | None = None,
               prune: bool = False) -> ChangeSet:
        """Validate the files (or records) and store their diff as a pending change set."""
        prepared = self._prepare(source, kind, prune)
        if prepared.validated.issues:
            raise ValidationFailed(prepared.validated.issues)
        with self._session(neo4j.READ_ACCESS) as session:
            plan = session.execute_read(lambda tx: build_plan(TxReader(tx), prepared.desired, with_before=True))
        cs = ChangeSet(
            id=_new_id(), author=author, created_at=datetime.now(UTC), status="pending",
            files=prepared.files,
            counts=plan.counts(touched_entities(prepared.desired)),
            changes=codec.diff_changes(plan),
            base_hashes=codec.base_hashes(plan),
        )
        self._driver.execute_query(Q_CREATE, props=codec.node_props(cs, plan), database_=self._database)
        logger.info("change set %s created by %s: %s change(s)", cs.id, author, len(cs.changes))
        return cs

    def _prepare(self, source: Sequence[Any], kind: str | None, prune: bool) -> PreparedLoad:
        if all(isinstance(item, str | Path) for item in source):
            return prepare(self._driver, self._database, [Path(p) for p in source], kind=kind,
                           salt=self._salt, prune=prune, vocab=self._vocab)
        raws = []
        for n, record in enumerate(source, start=1):
            record_kind = _RECORD_KINDS.get(type(record))
            if record_kind is None:
                raise TypeError(f"not an input record: {type(record).__name__}")
            raws.append(RawRecord(kind=record_kind, file="<records>", line=n,
                                  data=record.model_dump(mode="json")))
        validated = validate(raws, [], DriverLookup(self._driver, self._database), {})
        return PreparedLoad([], validated, desired_states(validated, self._salt, prune))

    # --- read -----------------------------------------------------------------------------
    def _session(self, mode: str = neo4j.WRITE_ACCESS) -> neo4j.Session:
        return self._driver.session(database=self._database, default_access_mode=mode)

    def get(self, change_set_id: str) -> ChangeSet:
        records, _, _ = self._driver.execute_query(Q_GET, id=change_set_id, database_=self._database,
                                                   routing_=neo4j.RoutingControl.READ)
        if not records:
            raise ChangeSetNotFound(f"no change set {change_set_id}")
        return codec.from_node(dict(records[0]["props"]))

    def list(self, limit: int = 50) -> list[ChangeSet]:
        """The latest change sets, newest first, without their changes."""
        records, _, _ = self._driver.execute_query(Q_LIST, limit=limit, database_=self._database,
                                                   routing_=neo4j.RoutingControl.READ)
        return [codec.from_node(dict(r["props"])) for r in records]

    # --- apply / rollback -----------------------------------------------------------------------
    @staticmethod
    def _locked(tx: neo4j.ManagedTransaction, change_set_id: str, status: str) -> dict[str, Any]:
        record = tx.run(Q_GET_FOR_UPDATE, id=change_set_id).single()
        if record is None:
            raise ChangeSetNotFound(f"no change set {change_set_id}")
        props = dict(record["props"])
        if props["status"] != status:
            raise ChangeSetStateError(f"change set {change_set_id} is {props['status']}, not {status}")
        take_lock(tx)
        return props

    @staticmethod
    def _conflicts(reader: TxReader, expected: dict[str, str | None]) -> list[str]:
        by_entity: dict[str, list[str]] = {}
        for k in expected:
            entity, eid = codec.split_key(k)
            by_entity.setdefault(entity, []).append(eid)
        current: dict[str, str | None] = {}
        for entity, ids in by_entity.items():
            current.update({codec.key(entity, i): h for i, h in reader.hashes(entity, ids).items()})
        return sorted(k for k, h in expected.items() if current.get(k) != h)

    def apply(self, change_set_id: str) -> ChangeSet:
        """Write the change set in one transaction if nothing it touches changed since create."""
        def work(tx: neo4j.ManagedTransaction) -> tuple[Plan, int | None]:
            props = self._locked(tx, change_set_id, "pending")
            base = codec.from_node(props).base_hashes
            reader = TxReader(tx)
            conflicts = self._conflicts(reader, base)
            if conflicts:
                raise StaleChangeSetError(change_set_id, conflicts)
            plan = codec.plan_from_json(props.get("plan_json"))
            for entity, ep in plan.entities.items():
                wanted = [*ep.updated, *ep.deleted]
                ep.before = reader.states(entity, wanted) if wanted else {}
                ep.base = {eid: base.get(codec.key(entity, eid)) for eid in [*ep.created, *wanted]}
            with too_large_is_final(plan.write_rows):
                PlanWriter(lambda q, **p: list(tx.run(q, **p)), self._batch).write(plan)
            after = {codec.key(e, eid): ep.hashes.get(eid) or content_hash(s)
                     for e, ep in plan.entities.items() for eid, s in {**ep.created, **ep.updated}.items()}
            after.update({codec.key(e, eid): None for e, ep in plan.entities.items() for eid in ep.deleted})
            version = bump_version(tx, props["author"], "apply") if plan.has_changes else None
            tx.run(Q_UPDATE, id=change_set_id, props={
                "status": "applied", "applied_at": datetime.now(UTC),
                "before_json": codec.before_to_json(plan), "after_hashes_json": codec.dumps(after),
                "knowledge_version": version,
            }).consume()
            return plan, version

        with self._session() as session, too_large_is_final():
            plan, version = session.execute_write(work)
        logger.info("change set %s applied (knowledge version %s)", change_set_id, version)
        if version is not None and self._on_change is not None:
            self._on_change(plan.change_summary("apply", version, change_set_id))
        return self.get(change_set_id)

    def discard(self, change_set_id: str) -> ChangeSet:
        """Mark a pending change set as discarded (the operator rejected it); the catalogue is
        untouched. Raises ``ChangeSetStateError`` unless it is pending."""
        def work(tx: neo4j.ManagedTransaction) -> None:
            self._locked(tx, change_set_id, "pending")
            tx.run(Q_UPDATE, id=change_set_id, props={"status": "discarded",
                                                      "discarded_at": datetime.now(UTC)}).consume()

        with self._session() as session:
            session.execute_write(work)
        logger.info("change set %s discarded", change_set_id)
        return self.get(change_set_id)

    def rollback(self, change_set_id: str) -> ChangeSet:
        """Restore the before values of an applied change set in one transaction."""
        def work(tx: neo4j.ManagedTransaction) -> tuple[Plan, int | None]:
            props = self._locked(tx, change_set_id, "applied")
            after: dict[str, str | None] = json.loads(props.get("after_hashes_json") or "{}")
            conflicts = self._conflicts(TxReader(tx), after)
            if conflicts:
                raise StaleChangeSetError(change_set_id, conflicts)
            applied = codec.plan_from_json(props.get("plan_json"))
            before = codec.before_from_json(props.get("before_json"))
            undo = Plan()
            for entity, ep in applied.entities.items():
                old = before.get(entity, {})
                undo.entities[entity] = EntityPlan(
                    created={eid: old[eid] for eid in ep.deleted},
                    updated={eid: old[eid] for eid in ep.updated},
                    deleted=sorted(ep.created),
                )
            with too_large_is_final(undo.write_rows):
                PlanWriter(lambda q, **p: list(tx.run(q, **p)), self._batch).write(undo)
            version = bump_version(tx, props["author"], "rollback") if undo.has_changes else None
            tx.run(Q_UPDATE, id=change_set_id, props={
                "status": "rolled_back", "rolled_back_at": datetime.now(UTC),
                "rollback_knowledge_version": version,
            }).consume()
            return undo, version

        with self._session() as session, too_large_is_final():
            undo, version = session.execute_write(work)
        logger.info("change set %s rolled back (knowledge version %s)", change_set_id, version)
        if version is not None and self._on_change is not None:
            self._on_change(undo.change_summary("rollback", version, change_set_id))
        return self.get(change_set_id)
