"""Load store data and bring the FAQ index up to date in one step.

``make demo``, the API's change-set hook, the tests and the notebooks all use
this, so that the graph and the vector index never drift apart: every load,
apply or rollback that changes something is followed by an index build stamped
with the graph's new knowledge version (a no-op build when nothing changed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

import neo4j

from graph.knowledge import GraphKnowledge
from ingest.loader import Loader
from ingest.models import LoadSummary
from schema.settings import Settings

logger = logging.getLogger(__name__)


class IndexFollower:
    """Rebuilds the FAQ index from the graph; use as a loader's ``on_change`` hook."""

    def __init__(self, driver: neo4j.Driver, settings: Settings, encoder) -> None:
        from graph.search import ProductDocumentSource

        self.knowledge = GraphKnowledge(driver, settings.neo4j_database)
        self.products = ProductDocumentSource(driver, settings.neo4j_database)
        self.settings = settings
        self.encoder = encoder

    def rebuild(self, *_: object) -> dict:
        """Build a new index version if the graph's FAQ or clauses changed; return the report.

        The product documents' own index (``product_index_dir``) follows in the same step.
        """
        from retrieval.index_build import build_index, product_index_dir

        report = asdict(build_index(self.knowledge, self.encoder, self.settings.index_dir))
        report["product_index"] = asdict(build_index(self.products, self.encoder,
                                                     product_index_dir(self.settings.index_dir)))
        return report

    __call__ = rebuild


def load_and_index(settings: Settings, driver: neo4j.Driver, encoder, paths: list[Path], *,
                   author: str = "pipeline", prune: bool = False,
                   show_progress: bool = True, on_change=None) -> tuple[LoadSummary, dict]:
    """Load ``paths`` into the graph (atomically) and rebuild the index; raises like ``Loader.load``.

    ``on_change`` receives the committed ``ChangeSummary`` (e.g. conversion attribution of new orders).
    """
    follower = IndexFollower(driver, settings, encoder)
    loader = Loader(driver, settings.neo4j_database, phone_salt=settings.phone_hash_salt.get_secret_value(),
                    reports_dir=settings.reports_dir, show_progress=show_progress, on_change=on_change)
    summary = loader.load(paths, author=author, prune=prune)
    # Always check the index: it may be missing even when the graph is unchanged.
    return summary, follower.rebuild()


def conversion_hook(settings: Settings, driver: neo4j.Driver):
    """Attribute loaded orders to the conversations in the service's event log (same file as the API)."""
    from dialog.conversion import ConversionTracker
    from dialog.events import SqliteEventLog
    from dialog.outcomes import SqliteOutcomeStore
    from graph.conversion import OrderFacts

    path = getattr(settings, "events_db", settings.var_dir / "events.sqlite3")
    return ConversionTracker(SqliteEventLog(path), SqliteOutcomeStore(path),
                             OrderFacts(driver, settings.neo4j_database), settings.conversion_window_h).on_change


def main(argv: list[str] | None = None) -> int:
    from graph.driver import connect
    from graph.errors import GraphError
    from ingest.errors import IngestError, ValidationFailed
    from retrieval.encoder import encoder_from_settings
    from retrieval.errors import RetrievalError
    from retrieval.models import ensure_offline_env
    from schema.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m ingest.pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--author", default="cli")
    parser.add_argument("--prune", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    settings = load_settings()
    ensure_offline_env(settings)
    try:
        driver = connect(settings)
        try:
            encoder = encoder_from_settings(settings)
            summary, index = load_and_index(settings, driver, encoder, args.paths, author=args.author,
                                            prune=args.prune, on_change=conversion_hook(settings, driver))
        finally:
            driver.close()
    except ValidationFailed as e:
        for issue in e.issues:
            print(str(issue), file=sys.stderr)
        print(f"error: {len(e.issues)} problem(s) in the input; nothing was written", file=sys.stderr)
        return 1
    except (IngestError, GraphError, RetrievalError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(summary.table(), file=sys.stderr)
    print(json.dumps({"load": json.loads(summary.model_dump_json(exclude={"rejected"})), "index": index},
                     ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
