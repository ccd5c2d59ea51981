"""Loading store data files into the graph as one transaction.

Owns: the load pipeline (read -> validate -> plan -> write -> report) behind
``python -m ingest load``. A load is all-or-nothing: every UNWIND batch runs
in one managed write transaction, so a crash, a kill or a Neo4j stop leaves
the graph as it was. A reload with unchanged content writes nothing.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_exc
from tqdm import tqdm

from graph.queries.catalog_write import Q_BUMP_VERSION, Q_LOCK_VERSION
from ingest.errors import TransactionTooLarge, ValidationFailed
from ingest.graph_state import DriverLookup, TxReader
from ingest.models import ChangeSummary, LoadSummary, Rejection
from ingest.plan import Desired, Plan, build_plan, desired_states, touched_entities
from ingest.readers import RawRecord, SourceFile, discover, read_source
from ingest.validate import ValidatedLoad, validate
from ingest.vocab import EMPTY, StoreVocabulary
from ingest.writer import PlanWriter

logger = logging.getLogger(__name__)

OnChange = Callable[[ChangeSummary], None]


@dataclass
class PreparedLoad:
    sources: list[SourceFile]
    validated: ValidatedLoad
    desired: Desired

    @property
    def files(self) -> list[str]:
        return [s.display for s in self.sources]


def prepare(driver: neo4j.Driver, database: str, paths: Sequence[Path], *, kind: str | None,
            salt: str | None, prune: bool, vocab: StoreVocabulary = EMPTY) -> PreparedLoad:
    """Read and validate every file (mapping the store's words through ``vocab``); nothing is written."""
    sources = discover(paths, kind)
    raws: list[RawRecord] = []
    issues = []
    for src in sources:
        records, read_issues = read_source(src, vocab)
        raws.extend(records)
        issues.extend(read_issues)
    logger.info("read %s records from %s file(s)", len(raws), len(sources))
    validated = validate(raws, issues, DriverLookup(driver, database),
                         kinds_by_file={s.display: s.kind for s in sources})
    return PreparedLoad(sources, validated, desired_states(validated, salt, prune))


def write_report(path: Path, rejected: list[Rejection]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rejection in rejected:
            fh.write(rejection.model_dump_json() + "\n")


def bump_version(tx: neo4j.ManagedTransaction, author: str, source: str) -> int:
    """Bump KnowledgeVersion (call ``take_lock`` first) and return the new version."""
    return int(tx.run(Q_BUMP_VERSION, author=author, source=source).single(strict=True)["version"])


def take_lock(tx: neo4j.ManagedTransaction) -> int:
    """Lock the KnowledgeVersion node for this transaction; return the version."""
    record = tx.run(Q_LOCK_VERSION).single(strict=True)
    return int(record["version"])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk load.

    A load builds millions of short dicts and no reference cycles; the
    collector's repeated full passes over them cost about 40% of the Python time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def too_large_is_final(rows: int | None = None) -> Iterator[None]:
    """Turn Neo4j's transaction-memory error into ``TransactionTooLarge``.

    Inside the transaction function this stops the driver from retrying a
    transaction that would fail the same way again; around ``execute_write``
    it also catches the error when it comes from the commit.
    """
    try:
        yield
    except neo4j_exc.TransientError as e:
        if "MemoryPoolOutOfMemoryError" not in (e.code or ""):
            raise
        what = f"writing {rows} rows " if rows is not None else ""
        raise TransactionTooLarge(
            f"Neo4j ran out of transaction memory {what}in one transaction ({e.message}); "
            "nothing was written. Raise YEBAN_NEO4J_TX_MEMORY / dbms.memory.transaction.total.max "
            "or load smaller files"
        ) from e


class Loader:
    """Validate and load files; see ``load``."""

    def __init__(self, driver: neo4j.Driver, database: str, *, phone_salt: str, batch_size: int = 5000,
                 on_change: OnChange | None = None, reports_dir: Path | None = None,
                 show_progress: bool = True, vocab: StoreVocabulary = EMPTY) -> None:
        self._driver = driver
        self._database = database
        self._salt = phone_salt
        self._batch = batch_size
        self._on_change = on_change
        self._reports_dir = reports_dir
        self._show_progress = show_progress
        self._vocab = vocab

    def load(self, paths: Sequence[Path], *, kind: str | None = None, dry_run: bool = False,
             skip_invalid: bool = False, prune: bool = False, author: str = "cli",
             report_path: Path | None = None, atomic: bool = True) -> LoadSummary:
        """Load files or folders.

        Raises ``ValidationFailed`` (nothing written) when a record is invalid,
        unless ``skip_invalid``: then the valid records are written and the
        rejected ones saved to ``report_path`` (JSONL). With ``prune``, records
        of a loaded entity type missing from the load are deleted.
        """
        with gc_paused():
            summary, change = self._load(paths, kind=kind, dry_run=dry_run, skip_invalid=skip_invalid,
                                         prune=prune, author=author, report_path=report_path, atomic=atomic)
        if change is not None and self._on_change is not None:
            self._on_change(change)
        return summary

    def _load(self, paths: Sequence[Path], *, kind: str | None, dry_run: bool, skip_invalid: bool,
              prune: bool, author: str, report_path: Path | None,
              atomic: bool) -> tuple[LoadSummary, ChangeSummary | None]:
        started = time.perf_counter()
        prepared = prepare(self._driver, self._database, paths, kind=kind, salt=self._salt, prune=prune,
                           vocab=self._vocab)
        validated = prepared.validated
        if validated.rejected and (report_path or skip_invalid):
            report_path = report_path or self._default_report()
            write_report(report_path, validated.rejected)
        if validated.issues and not skip_invalid:
            raise ValidationFailed(validated.issues)
        if dry_run:
            plan, version = self._plan_only(prepared.desired)
        elif atomic:
            plan, version = self._write_atomic(prepared.desired, author)
        else:
            plan, version = self._write_chunked(prepared.desired, author)
        summary = LoadSummary(
            files=prepared.files, dry_run=dry_run, pruned=prune, atomic=atomic,
            counts=plan.counts(touched_entities(prepared.desired), dict(validated.rejected_counts)),
            knowledge_version=version, elapsed_s=round(time.perf_counter() - started, 3),
            rejected=validated.rejected, report_path=str(report_path) if report_path else None,
        )
        change = plan.change_summary("load", version) if not dry_run and plan.has_changes else None
        return summary, change

    def _default_report(self) -> Path:
        base = self._reports_dir or Path("var/reports")
        return base / time.strftime("ingest-rejected-%Y%m%d-%H%M%S.jsonl")

    def _session(self, mode: str = neo4j.WRITE_ACCESS) -> neo4j.Session:
        return self._driver.session(database=self._database, default_access_mode=mode)

    def _plan_only(self, desired: Desired) -> tuple[Plan, int]:
        with self._session(neo4j.READ_ACCESS) as session:
            return session.execute_read(lambda tx: (build_plan(TxReader(tx), desired), TxReader(tx).version()))

    def _progress_bar(self, rows: int) -> Any:
        return tqdm(total=rows, unit="row", file=sys.stderr, desc="loading", leave=False,
                    disable=None if self._show_progress and rows >= 1000 else True)

    def _write_atomic(self, desired: Desired, author: str) -> tuple[Plan, int]:
        def work(tx: neo4j.ManagedTransaction) -> tuple[Plan, int]:
            reader = TxReader(tx)
            seen = reader.version()
            plan = build_plan(reader, desired)
            if not plan.has_changes:
                return plan, seen  # nothing to write: the transaction stays read-only
            if take_lock(tx) != seen:
                plan = build_plan(reader, desired)  # another writer committed meanwhile
                if not plan.has_changes:
                    return plan, reader.version()
            logger.info("writing %s rows in one transaction (batches of %s)", plan.write_rows, self._batch)
            with self._progress_bar(plan.write_rows) as bar, too_large_is_final(plan.write_rows):
                PlanWriter(tx.run, self._batch, bar.update).write(plan)
                # The last batches are collected here (results are not awaited per batch).
                return plan, bump_version(tx, author, "load")

        with self._session() as session, too_large_is_final():
            plan, version = session.execute_write(work)
        if plan.has_changes:
            logger.info("committed: knowledge version %s", version)
        else:
            logger.info("nothing changed: knowledge version stays %s", version)
        return plan, version

    def _write_chunked(self, desired: Desired, author: str) -> tuple[Plan, int]:
        """One transaction per batch: for loads too large for one transaction's memory."""
        with self._session() as session:
            plan = session.execute_read(lambda tx: build_plan(TxReader(tx), desired))
            if not plan.has_changes:
                return plan, session.execute_read(lambda tx: TxReader(tx).version())

            def run(query: str, **params: Any) -> list[Any]:
                return session.execute_write(lambda tx: list(tx.run(query, **params)))

            logger.info("writing %s rows in chunked transactions (batches of %s)", plan.write_rows, self._batch)
            with self._progress_bar(plan.write_rows) as bar:
                PlanWriter(run, self._batch, bar.update).write(plan)

            def bump(tx: neo4j.ManagedTransaction) -> int:
                take_lock(tx)
                return bump_version(tx, author, "load")

            return plan, session.execute_write(bump)
