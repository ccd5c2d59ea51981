"""Migrations apply once, are recorded in the graph, and reject bad files."""

from __future__ import annotations

import pytest

from graph.errors import MigrationError
from graph.migrate import apply_migrations, load_migrations


def test_migrations_recorded_and_rerun_is_noop(graph_db, settings):
    db = settings.neo4j_database
    graph_db.execute_query("MATCH (m:Migration) DELETE m", database_=db)
    first = apply_migrations(graph_db, db)
    assert first == [m.id for m in load_migrations()]
    assert apply_migrations(graph_db, db) == []
    records, _, _ = graph_db.execute_query(
        "MATCH (m:Migration) RETURN m.id AS id, m.checksum AS c ORDER BY id", database_=db
    )
    assert [r["id"] for r in records] == first
    assert all(len(r["c"]) == 64 for r in records)


def test_constraints_exist_after_migration(graph_db, settings):
    records, _, _ = graph_db.execute_query(
        "SHOW CONSTRAINTS YIELD labelsOrTypes, properties RETURN labelsOrTypes[0] AS l, "
        "properties[0] AS p", database_=settings.neo4j_database
    )
    pairs = {(r["l"], r["p"]) for r in records}
    assert ("Product", "product_id") in pairs
    assert ("Variant", "sku") in pairs


def test_bad_migration_name_rejected(tmp_path):
    (tmp_path / "first.cypher").write_text("RETURN 1;")
    with pytest.raises(MigrationError, match="first.cypher"):
        load_migrations(tmp_path)


def test_duplicate_migration_number_rejected(tmp_path):
    (tmp_path / "0001_a.cypher").write_text("RETURN 1;")
    (tmp_path / "0001_b.cypher").write_text("RETURN 2;")
    with pytest.raises(MigrationError, match="duplicate migration number 0001"):
        load_migrations(tmp_path)
