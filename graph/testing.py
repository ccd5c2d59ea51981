"""Test support that talks to the real Neo4j: an empty database with migrations.

Lives in the package (not in tests/) so notebooks and benchmarks can reset a
scratch database the same way. Never points at a fake graph.
"""

from __future__ import annotations

import neo4j

from graph.migrate import apply_migrations

Q_WIPE_BATCH = (
    "MATCH (n) WHERE NOT n:Migration "
    "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted"
)


def wipe(driver: neo4j.Driver, database: str, batch: int = 10_000) -> None:
    """Delete every node except the migration records, in bounded transactions."""
    while True:
        records, _, _ = driver.execute_query(Q_WIPE_BATCH, batch=batch, database_=database)
        if records[0]["deleted"] == 0:
            return


def reset_database(driver: neo4j.Driver, database: str) -> None:
    """Leave the database empty with every migration applied."""
    wipe(driver, database)
    apply_migrations(driver, database)
