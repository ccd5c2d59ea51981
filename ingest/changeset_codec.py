"""How a change set is described and stored.

Owns: the field-level diff of a ``Plan`` (``diff_changes``), the
``(:ChangeSet)`` node's properties (JSON strings for the diff, the base
hashes, the planned states and the before values) and turning such a node
back into a ``ChangeSet`` model or a ``Plan`` to write.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ingest.models import ENTITY_TYPES, ChangeSet, EntityChange, EntityCounts, FieldChange
from ingest.plan import EntityPlan, Plan
from ingest.states import State


def key(entity: str, eid: str) -> str:
    return f"{entity}:{eid}"


def split_key(k: str) -> tuple[str, str]:
    entity, _, eid = k.partition(":")
    return entity, eid


def _created_fields(state: State) -> list[FieldChange]:
    return [FieldChange(field=k, old=None, new=v) for k, v in state.items() if v not in (None, [], {}, "")]


def _updated_fields(before: State | None, after: State) -> list[FieldChange]:
    before = before or {}
    return [FieldChange(field=k, old=before.get(k), new=v) for k, v in after.items() if before.get(k) != v]


def diff_changes(plan: Plan) -> list[EntityChange]:
    """Per entity: created (with its values), updated (field: old -> new) or deleted."""
    changes: list[EntityChange] = []
    for entity in ENTITY_TYPES:
        ep = plan.entities[entity]
        for eid, state in sorted(ep.created.items()):
            changes.append(EntityChange(entity=entity, id=eid, op="created", fields=_created_fields(state)))
        for eid, state in sorted(ep.updated.items()):
            changes.append(EntityChange(entity=entity, id=eid, op="updated",
                                        fields=_updated_fields(ep.before.get(eid), state)))
        for eid in sorted(ep.deleted):
            changes.append(EntityChange(entity=entity, id=eid, op="deleted"))
    return changes


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def plan_to_json(plan: Plan) -> str:
    return dumps({
        entity: {"created": ep.created, "updated": ep.updated, "deleted": ep.deleted}
        for entity, ep in plan.entities.items() if ep.changed
    })


def plan_from_json(text: str) -> Plan:
    plan = Plan()
    for entity, body in json.loads(text or "{}").items():
        plan.entities[entity] = EntityPlan(created=body["created"], updated=body["updated"],
                                           deleted=list(body["deleted"]))
    return plan


def before_to_json(plan: Plan) -> str:
    return dumps({entity: ep.before for entity, ep in plan.entities.items() if ep.before})


def before_from_json(text: str | None) -> dict[str, dict[str, State]]:
    return json.loads(text or "{}")


def base_hashes(plan: Plan) -> dict[str, str | None]:
    return {key(entity, eid): h for entity, ep in plan.entities.items() for eid, h in ep.base.items()}


def node_props(cs: ChangeSet, plan: Plan) -> dict[str, Any]:
    return {
        "id": cs.id,
        "author": cs.author,
        "created_at": cs.created_at,
        "status": cs.status,
        "files": cs.files,
        "summary": dumps({e: c.model_dump() for e, c in cs.counts.items()}),
        "diff_json": dumps([c.model_dump() for c in cs.changes]),
        "base_hashes_json": dumps(cs.base_hashes),
        "plan_json": plan_to_json(plan),
        "before_json": before_to_json(plan),
    }


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    return value.to_native() if hasattr(value, "to_native") else value


def from_node(props: dict[str, Any]) -> ChangeSet:
    return ChangeSet(
        id=props["id"],
        author=props["author"],
        created_at=_time(props["created_at"]),  # type: ignore[arg-type]
        status=props["status"],
        applied_at=_time(props.get("applied_at")),
        rolled_back_at=_time(props.get("rolled_back_at")),
        files=list(props.get("files") or []),
        counts={e: EntityCounts(**c) for e, c in json.loads(props.get("summary") or "{}").items()},
        changes=[EntityChange(**c) for c in json.loads(props.get("diff_json") or "[]")],
        base_hashes=json.loads(props.get("base_hashes_json") or "{}"),
        knowledge_version=props.get("knowledge_version"),
    )
