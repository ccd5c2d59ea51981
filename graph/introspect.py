"""Read-only views of the graph's shape, for the demo, operators and notebooks."""

from __future__ import annotations

from dataclasses import dataclass, field

import neo4j

Q_LABEL_COUNTS = (
    "CALL db.labels() YIELD label "
    "CALL (label) { MATCH (n) WHERE label IN labels(n) RETURN count(n) AS n } "
    "RETURN label, n ORDER BY label"
)
Q_REL_COUNTS = (
    "CALL db.relationshipTypes() YIELD relationshipType AS type "
    "CALL (type) { MATCH ()-[r]->() WHERE type(r) = type RETURN count(r) AS n } "
    "RETURN type, n ORDER BY type"
)
Q_CONSTRAINTS = "SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties RETURN name, labelsOrTypes, properties ORDER BY name"
Q_INDEXES = (
    "SHOW INDEXES YIELD name, type, labelsOrTypes, properties, state "
    "WHERE type <> 'LOOKUP' RETURN name, type, labelsOrTypes, properties, state ORDER BY name"
)


@dataclass(frozen=True)
class GraphSchema:
    labels: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)


def describe_schema(driver: neo4j.Driver, database: str) -> GraphSchema:
    """Counts by label and relationship type, plus constraints and indexes."""
    labels, _, _ = driver.execute_query(Q_LABEL_COUNTS, database_=database)
    rels, _, _ = driver.execute_query(Q_REL_COUNTS, database_=database)
    cons, _, _ = driver.execute_query(Q_CONSTRAINTS, database_=database)
    idx, _, _ = driver.execute_query(Q_INDEXES, database_=database)
    return GraphSchema(
        labels={r["label"]: r["n"] for r in labels},
        relationships={r["type"]: r["n"] for r in rels},
        constraints=[
            f"{r['name']}: {','.join(r['labelsOrTypes'])}({','.join(r['properties'])})" for r in cons
        ],
        indexes=[
            f"{r['name']} [{r['type']}, {r['state']}]: "
            f"{','.join(r['labelsOrTypes'] or [])}({','.join(r['properties'] or [])})"
            for r in idx
        ],
    )
