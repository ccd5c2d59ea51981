"""Store conversation tests: run a store's cases, dialogues and messages against the bot.

    python -m dialog.store_test CASES [--dialogs D] [--messages M] [--api URL] [--token T]
                                [--now ISO] [--out DIR]

What an operator runs before going live and after every knowledge change. The
files follow the formats in the README ("Store conversation tests"; grading in
``dialog.store_grading``); pass ``-`` to skip a set. Without ``--api`` the engine
runs in this process on the configured graph and index (``--now`` sets the
bot's clock, e.g. ``2026-12-15T20:00:00+08:00``; a naive time is China time);
with ``--api`` every message is a ``POST URL/v1/chat`` (the server's own clock).
Each case and message gets its own session, each dialogue keeps one.

Writes ``report.json`` (every reply and check) and ``report.md`` (the figures
and a table of failures with the reply given) into ``--out`` (default
``var/reports/store_test-<time>/``) and prints one ``SUMMARY`` line.
Exit code 0 when it ran (whatever the figures), 1 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from dialog.store_grading import (
    CaseFileError,
    Dialogue,
    DialogueResult,
    TurnResult,
    failed,
    grade,
    read_cases,
    read_dialogues,
    read_messages,
    summarise,
    summary_line,
)

logger = logging.getLogger(__name__)
CHINA = timezone(timedelta(hours=8))
Ask = Callable[[str, str], dict[str, Any]]  # (session_id, message) -> reply as JSON


class StoreTestError(RuntimeError):
    """The run could not start (no engine, unreachable API)."""


# --- where the replies come from ---------------------------------------------------------
def api_asker(url: str, token: str | None = None, timeout_s: float = 60.0) -> Ask:
    """POST ``/v1/chat`` on a running API; HTTP 429 is retried with back-off."""
    endpoint = url.rstrip("/") + "/v1/chat"

    def ask(session_id: str, message: str) -> dict[str, Any]:
        body = json.dumps({"session_id": session_id, "message": message}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in range(6):
            request = urllib.request.Request(endpoint, body, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as e:
                if e.code != 429 or attempt == 5:
                    raise
                time.sleep(float(e.headers.get("Retry-After") or 2 ** attempt))
        raise AssertionError("unreachable")

    return ask


def parse_now(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=CHINA) if moment.tzinfo is None else moment


def engine_asker(engine: Any) -> Ask:
    """Chat with an in-process engine (``dialog.engine.DialogEngine`` or anything with ``chat``)."""
    def ask(session_id: str, message: str) -> dict[str, Any]:
        reply = engine.chat(session_id, message, channel="store_test")
        return reply.model_dump(mode="json") if hasattr(reply, "model_dump") else dict(reply)

    return ask


def build_local_engine(now: datetime | None = None, settings=None, **models: Any):
    """The real engine on the configured graph and index, with in-memory sessions; returns (engine, close).

    ``settings`` default to ``load_settings()``; ``now`` starts the bot's clock there (it then runs on);
    ``models`` (``encoder=``, ``classifier=``, ``emotion=``) share models already loaded.
    """
    from dialog.agent_hours import AgentHours
    from dialog.events import SqliteEventLog
    from dialog.factory import build_engine
    from dialog.handoff_queue import InMemoryHandoffQueue
    from dialog.session_store import InMemorySessionStore
    from graph.driver import connect
    from schema.settings import load_settings

    settings = settings or load_settings()
    driver = connect(settings)
    # Kept in UTC for the driver (see notebooks/cells_04_conversations.py); shifted as the run goes on.
    start, started = (now.astimezone(UTC) if now else None), time.monotonic()
    clock = (lambda: start + timedelta(seconds=time.monotonic() - started)) if start else None
    events = SqliteEventLog(settings.var_dir / "store_test" / f"events-{uuid.uuid4().hex[:8]}.sqlite")
    engine = build_engine(settings, driver, sessions=InMemorySessionStore(), handoffs=InMemoryHandoffQueue(),
                          events=events, agent_hours=AgentHours.parse(settings.agent_hours,
                                                                      settings.agent_timezone),
                          clock=clock, **models)
    keeper = getattr(engine, "index_keeper", None)
    if keeper is not None and keeper.freshness().state != "fresh":
        logger.info("the FAQ index lags the graph's texts: waiting for the rebuild")
        keeper.wait_idle()
        keeper.freshness()
    return engine, driver.close


# --- running -----------------------------------------------------------------------------------
def _timed(ask: Ask, session: str, message: str) -> tuple[dict[str, Any] | None, float, str | None]:
    started = time.perf_counter()
    try:
        reply = ask(session, message)
    except Exception as e:  # noqa: BLE001 - one failed exchange is a failed check, not a crashed run
        return None, 0.0, f"{type(e).__name__}: {e}"
    return reply, (time.perf_counter() - started) * 1000, None


def run_cases(ask: Ask, cases: list[dict[str, Any]], prefix: str) -> list[TurnResult]:
    out = []
    for case in cases:
        reply, ms, error = _timed(ask, f"{prefix}-c-{case['id']}", case["question"])
        out.append(failed(case["id"], case["question"], error, case) if reply is None
                   else grade(case["id"], case["question"], reply, case, ms))
    return out


def run_dialogues(ask: Ask, dialogues: list[Dialogue], prefix: str) -> list[DialogueResult]:
    out = []
    for d in dialogues:
        result = DialogueResult(d.id, d.description)
        session = f"{prefix}-d-{d.id}"
        for n, turn in enumerate(d.turns, start=1):
            reply, ms, error = _timed(ask, session, turn["user"])
            tid = f"{d.id}#{n}"
            result.turns.append(failed(tid, turn["user"], error, turn) if reply is None
                                else grade(tid, turn["user"], reply, turn, ms))
        out.append(result)
    return out


def run_messages(ask: Ask, messages: list[dict[str, str]], prefix: str) -> list[TurnResult]:
    out = []
    for m in messages:
        spec = {"expected_intent": m["intent"]}
        reply, ms, error = _timed(ask, f"{prefix}-m-{m['id']}", m["text"])
        out.append(failed(m["id"], m["text"], error, spec) if reply is None
                   else grade(m["id"], m["text"], reply, spec, ms))
    return out


def run_all(ask: Ask, cases_path: Path | None, dialogs_path: Path | None,
            messages_path: Path | None) -> dict[str, Any]:
    """Run every given set; return the report (``summary`` plus every graded exchange)."""
    prefix = f"st-{uuid.uuid4().hex[:8]}"
    cases = run_cases(ask, read_cases(cases_path), prefix) if cases_path else []
    dialogues = run_dialogues(ask, read_dialogues(dialogs_path), prefix) if dialogs_path else []
    messages = run_messages(ask, read_messages(messages_path), prefix) if messages_path else []
    return {
        "summary": summarise(cases, dialogues, messages),
        "cases": [_turn_json(t) for t in cases],
        "dialogs": [{"id": d.id, "description": d.description, "passed": d.passed,
                     "turns": [_turn_json(t) for t in d.turns]} for d in dialogues],
        "messages": [_turn_json(t) for t in messages],
    }


def _turn_json(t: TurnResult) -> dict[str, Any]:
    data = asdict(t)
    data.pop("_handed_off", None)
    data["passed"] = t.passed
    data["problems"] = t.problems()
    return data


# --- the report ---------------------------------------------------------------------------------
def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(report: dict[str, Any], meta: dict[str, Any]) -> str:
    s = report["summary"]
    lines = ["# Store conversation test", "", f"- target: {meta['target']}", f"- clock: {meta['clock']}",
             f"- files: {', '.join(meta['files']) or '-'}", "", "| figure | passed | total | rate |",
             "|---|---|---|---|"]
    for key in ("facts", "intent", "both", "dialogs", "dialog_turns", "messages_intent"):
        r = s[key]
        rate = f"{100 * r['rate']:.1f}%" if r["rate"] is not None else "-"
        lines.append(f"| {key} | {r['passed']} | {r['total']} | {rate} |")
    lines += ["", f"p50 latency: {s['p50_latency_ms']} ms", ""]
    rows = [("case", t) for t in report["cases"] if not t["passed"]]
    rows += [("dialog", t) for d in report["dialogs"] for t in d["turns"] if not t["passed"]]
    rows += [("message", t) for t in report["messages"] if not t["passed"]]
    lines += [f"## Failures ({len(rows)})", "", "| set | id | message | intent | problems | reply given |",
              "|---|---|---|---|---|---|"]
    for kind, t in rows:
        lines.append(f"| {kind} | {t['id']} | {_cell(t['message'], 60)} | {t['intent']} | "
                     f"{_cell('; '.join(t['problems']), 120)} | {_cell(t['reply'])} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], meta: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps({"meta": meta, **report}, ensure_ascii=False, indent=1), encoding="utf-8")
    md_path.write_text(markdown(report, meta), encoding="utf-8")
    return json_path, md_path


def _optional(value: str | None) -> Path | None:
    return None if value in (None, "-") else Path(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialog.store_test", description=__doc__.split("\n")[0])
    parser.add_argument("cases", help="cases.jsonl, or - to skip")
    parser.add_argument("--dialogs", help="dialogs.jsonl")
    parser.add_argument("--messages", help="shopper_messages.tsv (id, intent, text)")
    parser.add_argument("--api", help="base URL of a running API (default: the engine in this process)")
    parser.add_argument("--token", help="bearer token for --api")
    parser.add_argument("--now", help="the bot's clock for an in-process run (ISO 8601; naive = China time)")
    parser.add_argument("--out", type=Path, help="report folder (default var/reports/store_test-<time>/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    paths = [_optional(args.cases), _optional(args.dialogs), _optional(args.messages)]
    close: Callable[[], None] = lambda: None  # noqa: E731
    try:
        if args.api:
            if args.now:
                parser.error("--now sets the clock of an in-process engine; a running API keeps its own")
            ask, target, clock = api_asker(args.api, args.token), args.api, "the server's"
        else:
            now = parse_now(args.now) if args.now else None
            engine, close = build_local_engine(now)
            ask, target = engine_asker(engine), "in-process engine"
            clock = now.isoformat() if now else "now (system clock)"
        report = run_all(ask, *paths)
    except CaseFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as e:
        print(f"error: cannot run the store test: {e}", file=sys.stderr)
        return 1
    finally:
        close()
    from schema.settings import load_settings

    out = args.out or load_settings().reports_dir / time.strftime("store_test-%Y%m%d-%H%M%S")
    meta = {"target": target, "clock": clock, "files": [str(p) for p in paths if p],
            "run_at": datetime.now(UTC).isoformat(timespec="seconds")}
    json_path, md_path = write_report(report, meta, out)
    print(f"report: {json_path} and {md_path}", file=sys.stderr)
    print(summary_line(report["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
