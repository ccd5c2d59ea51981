"""Command line: ``python -m ingest load|changeset|rollback ...``.

    python -m ingest load PATH... [--kind K] [--status-map FILE] [--columns FILE] [--dry-run]
                                  [--skip-invalid] [--report FILE] [--prune] [--author NAME]
                                  [--batch-size N] [-v]
    python -m ingest changeset create FILE... --author NAME [--kind K] [--prune]
                                              [--status-map FILE] [--columns FILE]
    python -m ingest changeset show|apply|rollback ID
    python -m ingest changeset list
    python -m ingest rollback ID

Human-readable output goes to stderr, the JSON summary to stdout. Exit codes:
0 done, 1 invalid input / stale change set / Neo4j failure (nothing written),
2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from neo4j import exceptions as neo4j_exc

from graph.errors import GraphError
from ingest.errors import IngestError, ValidationFailed
from ingest.readers import KINDS

logger = logging.getLogger("ingest")


def _vocab_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status-map", type=Path, metavar="FILE",
                        help="JSON {store status: canonical status} for orders files")
    parser.add_argument("--columns", type=Path, metavar="FILE",
                        help="JSON {CSV header: field or null} for products/stock CSV files")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every batch")
    sub = parser.add_subparsers(dest="command", required=True)

    load = sub.add_parser("load", help="validate and load files or folders in one transaction")
    load.add_argument("paths", nargs="+", type=Path)
    load.add_argument("--kind", choices=KINDS, help="kind of every file (default: from the file name)")
    _vocab_args(load)
    load.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    load.add_argument("--skip-invalid", action="store_true",
                      help="write the valid records; save the rejected ones to the report")
    load.add_argument("--report", type=Path, help="JSONL file for rejected records")
    load.add_argument("--prune", action="store_true",
                      help="delete records of the loaded entity types that are missing from the load")
    load.add_argument("--author", default="cli", help="recorded on the knowledge version")
    load.add_argument("--batch-size", type=int, default=5000, help="rows per UNWIND batch")
    load.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                      help="log every batch")

    cs = sub.add_parser("changeset", help="reviewed changes: create, show, apply, rollback, list")
    cs_sub = cs.add_subparsers(dest="action", required=True)
    create = cs_sub.add_parser("create", help="compute and store a pending change set")
    create.add_argument("paths", nargs="+", type=Path)
    create.add_argument("--author", required=True)
    create.add_argument("--kind", choices=KINDS)
    create.add_argument("--prune", action="store_true")
    _vocab_args(create)
    for action in ("show", "apply", "rollback"):
        p = cs_sub.add_parser(action)
        p.add_argument("id")
        p.add_argument("--json", action="store_true", help="print the change set as JSON only")
    cs_sub.add_parser("list")

    rollback = sub.add_parser("rollback", help="roll back an applied change set")
    rollback.add_argument("id")
    rollback.add_argument("--json", action="store_true")
    return parser


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from graph.driver import connect
    from ingest.changesets import ChangeSetService
    from ingest.loader import Loader
    from ingest.vocab import StoreVocabulary
    from schema.settings import load_settings

    settings = load_settings()
    salt = settings.phone_hash_salt.get_secret_value()
    vocab = StoreVocabulary.from_files(getattr(args, "status_map", None), getattr(args, "columns", None))
    driver = connect(settings)
    try:
        if args.command == "load":
            loader = Loader(driver, settings.neo4j_database, phone_salt=salt, batch_size=args.batch_size,
                            reports_dir=settings.reports_dir, vocab=vocab)
            summary = loader.load(args.paths, kind=args.kind, dry_run=args.dry_run,
                                  skip_invalid=args.skip_invalid, prune=args.prune, author=args.author,
                                  report_path=args.report)
            for rejection in summary.rejected:
                for line in rejection.errors:
                    _err(f"rejected: {line}")
            _err(summary.table())
            if summary.report_path:
                _err(f"rejected records saved to {summary.report_path}")
            _err(("dry run: nothing written" if summary.dry_run else
                  f"knowledge version {summary.knowledge_version}") + f" ({summary.elapsed_s:.2f}s)")
            print(summary.model_dump_json(exclude={"rejected"}))
            return 0
        service = ChangeSetService(driver, settings.neo4j_database, phone_salt=salt, vocab=vocab)
        action = "rollback" if args.command == "rollback" else args.action
        if action == "list":
            for item in service.list():
                print(item.model_dump_json(exclude={"changes", "base_hashes"}))
            return 0
        if action == "create":
            cs = service.create(args.paths, args.author, kind=args.kind, prune=args.prune)
        elif action == "show":
            cs = service.get(args.id)
        elif action == "apply":
            cs = service.apply(args.id)
        else:
            cs = service.rollback(args.id)
        if not getattr(args, "json", False):
            _err(cs.describe())
            if action == "create":
                _err(f"pending change set id: {cs.id}  (apply: python -m ingest changeset apply {cs.id})")
        print(cs.model_dump_json())
        return 0
    finally:
        driver.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    try:
        return _run(args)
    except ValidationFailed as e:
        for issue in e.issues:
            _err(str(issue))
        _err(f"error: {len(e.issues)} problem(s) in the input; nothing was written "
             "(fix them, or pass --skip-invalid to load the valid records)")
        return 1
    except (IngestError, GraphError) as e:
        _err(f"error: {e}")
        return 1
    except (neo4j_exc.Neo4jError, neo4j_exc.DriverError) as e:
        reason = " ".join(str(e).split())
        _err(f"error: Neo4j failed, the transaction was rolled back and nothing was written: {reason}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
