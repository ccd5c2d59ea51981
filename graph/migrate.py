"""Apply the ordered Cypher migrations in ``schema/migrations`` (``python -m graph.migrate``).

Each file ``NNNN_name.cypher`` holds idempotent statements separated by ``;``
at line end. An applied file is recorded as ``(:Migration {id, checksum,
applied_at})`` so re-running is a no-op; an applied file whose text has since
changed is reported rather than silently re-run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import neo4j
from neo4j import exceptions as neo4j_exc

from graph.errors import GraphError, MigrationError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "schema" / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.cypher$")

Q_APPLIED = "MATCH (m:Migration) RETURN m.id AS id, m.checksum AS checksum"
Q_RECORD = (
    "MERGE (m:Migration {id: $id}) "
    "SET m.checksum = $checksum, m.applied_at = datetime(), m.statements = $statements"
)
Q_MIGRATION_CONSTRAINT = (
    "CREATE CONSTRAINT migration_id IF NOT EXISTS FOR (m:Migration) REQUIRE m.id IS UNIQUE"
)


@dataclass(frozen=True)
class Migration:
    id: str
    path: Path
    statements: tuple[str, ...]
    checksum: str


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Read and order migration files; raise ``MigrationError`` naming a bad file."""
    migrations: list[Migration] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.cypher")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: name must look like 0001_description.cypher")
        if match.group(1) in seen:
            raise MigrationError(f"{path}: duplicate migration number {match.group(1)}")
        seen.add(match.group(1))
        text = path.read_text(encoding="utf-8")
        statements = tuple(
            s.strip() for s in re.split(r";\s*$", _strip_comments(text), flags=re.M) if s.strip()
        )
        if not statements:
            raise MigrationError(f"{path}: no statements")
        checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
        migrations.append(Migration(path.stem, path, statements, checksum))
    return migrations


def apply_migrations(
    driver: neo4j.Driver, database: str, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Apply pending migrations in order; return the ids applied now."""
    migrations = load_migrations(directory)
    driver.execute_query(Q_MIGRATION_CONSTRAINT, database_=database)
    records, _, _ = driver.execute_query(Q_APPLIED, database_=database)
    applied = {r["id"]: r["checksum"] for r in records}
    done: list[str] = []
    for migration in migrations:
        if migration.id in applied:
            if applied[migration.id] != migration.checksum:
                logger.warning(
                    "migration %s changed after it was applied; add a new migration instead",
                    migration.id,
                )
            continue
        for statement in migration.statements:
            try:
                # Schema statements cannot share a transaction with writes, so
                # each runs on its own; they are all IF NOT EXISTS.
                driver.execute_query(statement, database_=database)
            except neo4j_exc.Neo4jError as e:
                raise MigrationError(
                    f"{migration.path.name}: statement failed: {statement[:120]}: {e.message}"
                ) from e
        driver.execute_query(
            Q_RECORD,
            id=migration.id,
            checksum=migration.checksum,
            statements=len(migration.statements),
            database_=database,
        )
        logger.info("applied migration %s", migration.id)
        done.append(migration.id)
    return done


def main(argv: list[str] | None = None) -> int:
    from graph.driver import connect
    from schema.settings import load_settings

    argparse.ArgumentParser(prog="python -m graph.migrate", description=__doc__).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    try:
        driver = connect(settings)
        try:
            done = apply_migrations(driver, settings.neo4j_database)
        finally:
            driver.close()
    except GraphError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"applied": done}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
