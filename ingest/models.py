"""Typed results of ingest operations: validation issues, load summaries,
change sets and the change notice handed to ``on_change`` hooks.

Owns: the pydantic models the CLI prints and the Flask API serialises.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Entity types in the order their upserts are written (deletes run in reverse).
ENTITY_TYPES: tuple[str, ...] = ("policy", "product", "variant", "faq", "order")


class ValidationIssue(BaseModel):
    """One reason a record was rejected, printed as ``file:line field: reason``."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.field}: {self.reason}"


class Rejection(BaseModel):
    """A rejected record as written to the ``--report`` JSONL file."""

    file: str
    line: int
    kind: str
    id: str | None = None
    errors: list[str]
    record: Any = None


class EntityCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    deleted: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


class ChangeSummary(BaseModel):
    """What one committed load / apply / rollback changed, for ``on_change`` hooks."""

    model_config = ConfigDict(frozen=True)

    source: Literal["load", "apply", "rollback"]
    change_set_id: str | None = None
    knowledge_version: int
    created: dict[str, list[str]] = Field(default_factory=dict)
    updated: dict[str, list[str]] = Field(default_factory=dict)
    deleted: dict[str, list[str]] = Field(default_factory=dict)

    def touched(self, entity: str) -> set[str]:
        """Ids of one entity type that were created, updated or deleted."""
        return (set(self.created.get(entity, ())) | set(self.updated.get(entity, ()))
                | set(self.deleted.get(entity, ())))


class LoadSummary(BaseModel):
    files: list[str]
    dry_run: bool = False
    pruned: bool = False
    atomic: bool = True
    counts: dict[str, EntityCounts]
    knowledge_version: int | None = None
    elapsed_s: float = 0.0
    rejected: list[Rejection] = Field(default_factory=list)
    report_path: str | None = None

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.counts.values())

    def table(self) -> str:
        return counts_table(self.counts, with_deleted=self.pruned)


class FieldChange(BaseModel):
    field: str
    old: Any = None
    new: Any = None


class EntityChange(BaseModel):
    entity: str
    id: str
    op: Literal["created", "updated", "deleted"]
    fields: list[FieldChange] = Field(default_factory=list)

    def describe(self) -> str:
        head = f"{self.op:<8} {self.entity} {self.id}"
        if self.op != "updated":
            return head
        return head + "".join(f"\n           {f.field}: {_short(f.old)} -> {_short(f.new)}" for f in self.fields)


class ChangeSet(BaseModel):
    """An operator's reviewed change: a diff against the graph, applied later as a whole."""

    id: str
    author: str
    created_at: datetime
    status: Literal["pending", "applied", "rolled_back", "discarded"]
    applied_at: datetime | None = None
    rolled_back_at: datetime | None = None
    files: list[str] = Field(default_factory=list)
    counts: dict[str, EntityCounts] = Field(default_factory=dict)
    changes: list[EntityChange] = Field(default_factory=list)
    base_hashes: dict[str, str | None] = Field(default_factory=dict)
    knowledge_version: int | None = None

    def describe(self) -> str:
        lines = [
            f"change set {self.id} by {self.author}, {self.status}, created {self.created_at.isoformat()}"
        ]
        if self.applied_at:
            lines.append(f"applied {self.applied_at.isoformat()}")
        if self.rolled_back_at:
            lines.append(f"rolled back {self.rolled_back_at.isoformat()}")
        lines.append(counts_table(self.counts, with_deleted=True))
        lines.extend(change.describe() for change in self.changes)
        if not self.changes:
            lines.append("(no changes)")
        return "\n".join(lines)


def _short(value: Any, limit: int = 80) -> str:
    text = "null" if value is None else (value if isinstance(value, str) else repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def counts_table(counts: dict[str, EntityCounts], with_deleted: bool) -> str:
    cols = ["created", "updated", "unchanged", "rejected"] + (["deleted"] if with_deleted else [])
    header = f"{'entity':<10}" + "".join(f"{c:>11}" for c in cols)
    rows = [header, "-" * len(header)]
    for entity in ENTITY_TYPES:
        if entity not in counts:
            continue
        c = counts[entity]
        rows.append(f"{entity:<10}" + "".join(f"{getattr(c, col):>11}" for col in cols))
    return "\n".join(rows)
