"""Fixtures for the ingest tests: a loader on the test database and a small store on disk."""

from __future__ import annotations

from pathlib import Path

import neo4j
import pytest

from ingest.changesets import ChangeSetService
from ingest.loader import Loader
from ingest.models import ChangeSummary
from schema.settings import Settings
from tests.ingest.store import write_store


@pytest.fixture()
def db(settings: Settings) -> str:
    return settings.neo4j_database


@pytest.fixture()
def salt(settings: Settings) -> str:
    return settings.phone_hash_salt.get_secret_value()


@pytest.fixture()
def changes() -> list[ChangeSummary]:
    """Collects what ``on_change`` hooks receive."""
    return []


@pytest.fixture()
def loader(graph_db: neo4j.Driver, db: str, salt: str, tmp_path: Path, changes: list) -> Loader:
    return Loader(graph_db, db, phone_salt=salt, batch_size=2, reports_dir=tmp_path / "reports",
                  on_change=changes.append, show_progress=False)


@pytest.fixture()
def service(graph_db: neo4j.Driver, db: str, salt: str, changes: list) -> ChangeSetService:
    return ChangeSetService(graph_db, db, phone_salt=salt, batch_size=2, on_change=changes.append)


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    return write_store(tmp_path / "store")
