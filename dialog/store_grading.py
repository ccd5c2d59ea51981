"""Grading a store's conversation tests: single-turn cases, dialogues and labelled messages.

Owns: the case formats and the grading rules an operator's test files follow
(documented in the README, "Store conversation tests"):

- Before substring matching, the reply and every expected string are
  normalised: Unicode NFKC, lower case, all whitespace removed (``17：00``
  matches ``17:00``, ``Model 3`` matches ``model3``).
- A case's *facts* pass when every group of ``must_contain_any`` has at least
  one alternative in the reply and no ``must_not_contain`` string occurs; no
  groups means facts pass trivially. *Intent* passes when the reply's intent
  equals ``expected_intent``; *both* needs both.
- A dialogue turn passes when its facts pass, ``expect_intent`` matches (if
  given) and ``expect_handoff`` matches (if given; a hand-off is a truthy
  ``handoff`` field or a ``handoff`` state). A dialogue passes when all its turns do.
- A message passes when the reply's intent equals its label.

Pure functions over plain dicts (the API's JSON reply); no I/O except the readers.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SPACE = re.compile(r"\s+")


class CaseFileError(ValueError):
    """A test file line is malformed (names ``file:line`` and the field)."""


def normalise(text: str) -> str:
    """NFKC, lower case, no whitespace: the form both sides are compared in."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or "").lower())


@dataclass(frozen=True)
class FactCheck:
    ok: bool
    missing: tuple[tuple[str, ...], ...] = ()  # fact groups with no alternative in the reply
    forbidden: tuple[str, ...] = ()  # must_not_contain strings found


def check_facts(reply: str, groups: Iterable[Iterable[str]] = (), forbidden: Iterable[str] = ()) -> FactCheck:
    said = normalise(reply)
    missing = tuple(tuple(g) for g in groups if not any(normalise(alt) in said for alt in g))
    found = tuple(s for s in forbidden if normalise(s) and normalise(s) in said)
    return FactCheck(not missing and not found, missing, found)


def is_handoff(reply: Mapping[str, Any]) -> bool:
    state = reply.get("state")
    return bool(reply.get("handoff")) or str(getattr(state, "value", state)) == "handoff"


@dataclass(frozen=True)
class TurnResult:
    """One graded exchange (a case, a dialogue turn or a message)."""

    id: str
    message: str
    reply: str
    intent: str | None
    facts: bool
    intent_ok: bool | None  # None: no intent expected
    handoff_ok: bool | None = None
    expected_intent: str | None = None
    missing: tuple[tuple[str, ...], ...] = ()
    forbidden: tuple[str, ...] = ()
    latency_ms: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.facts and self.intent_ok is not False and self.handoff_ok is not False

    def problems(self) -> list[str]:
        out = [f"error: {self.error}"] if self.error else []
        out += [f"missing one of {'/'.join(g)}" for g in self.missing]
        out += [f"must not say {s}" for s in self.forbidden]
        if self.intent_ok is False:
            out.append(f"intent {self.intent} (expected {self.expected_intent})")
        if self.handoff_ok is False:
            out.append("hand-off expected" if not self._handed_off else "unexpected hand-off")
        return out

    _handed_off: bool = False


def grade(item_id: str, message: str, reply: Mapping[str, Any], spec: Mapping[str, Any],
          latency_ms: float = 0.0) -> TurnResult:
    """Grade one reply against a case or dialogue turn spec (``expected_intent``/``expect_intent``)."""
    text = str(reply.get("reply", ""))
    facts = check_facts(text, spec.get("must_contain_any") or (), spec.get("must_not_contain") or ())
    expected = spec.get("expected_intent", spec.get("expect_intent"))
    intent = reply.get("intent")
    handed_off = is_handoff(reply)
    handoff_ok = None if "expect_handoff" not in spec else bool(spec["expect_handoff"]) == handed_off
    return TurnResult(item_id, message, text, intent, facts.ok,
                      None if expected is None else intent == expected, handoff_ok, expected,
                      facts.missing, facts.forbidden, latency_ms, None, handed_off)


def failed(item_id: str, message: str, error: str, spec: Mapping[str, Any] | None = None) -> TurnResult:
    """A turn whose reply could not be obtained (counts as failed everywhere)."""
    expected = (spec or {}).get("expected_intent", (spec or {}).get("expect_intent"))
    return TurnResult(item_id, message, "", None, False, None if expected is None else False,
                      expected_intent=expected, error=error)


# --- test files ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Dialogue:
    id: str
    description: str
    turns: tuple[dict[str, Any], ...]


@dataclass
class DialogueResult:
    id: str
    description: str
    turns: list[TurnResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.turns) and all(t.passed for t in self.turns)


def _jsonl(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise CaseFileError(f"{path}:{n} (line): malformed JSON: {e.msg}") from e
            missing = [k for k in required if k not in row] if isinstance(row, dict) else ["(object)"]
            if missing:
                raise CaseFileError(f"{path}:{n} {missing[0]}: required")
            rows.append(row)
    return rows


def read_cases(path: Path) -> list[dict[str, Any]]:
    """``cases.jsonl``: ``{id, question, expected_intent?, must_contain_any?, must_not_contain?, notes?}``."""
    return _jsonl(path, ("id", "question"))


def read_dialogues(path: Path) -> list[Dialogue]:
    """``dialogs.jsonl``: ``{id, description?, turns: [{user, expect_intent?, must_contain_any?, ...}]}``."""
    out = []
    for row in _jsonl(path, ("id", "turns")):
        turns = row["turns"]
        if not isinstance(turns, list) or not all(isinstance(t, dict) and "user" in t for t in turns):
            raise CaseFileError(f"{path}: dialogue {row['id']} turns: each turn needs 'user'")
        out.append(Dialogue(row["id"], row.get("description", ""), tuple(turns)))
    return out


def read_messages(path: Path) -> list[dict[str, str]]:
    """``shopper_messages.tsv`` with header ``id intent text``."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if not reader.fieldnames or not {"id", "intent", "text"} <= set(reader.fieldnames):
            raise CaseFileError(f"{path}:1 (header): expected the columns id, intent, text")
        return [dict(row) for row in reader if (row.get("text") or "").strip()]


# --- summary ----------------------------------------------------------------------------------
def _rate(n: int, total: int) -> dict[str, Any]:
    return {"passed": n, "total": total, "rate": round(n / total, 4) if total else None}


def summarise(cases: list[TurnResult], dialogues: list[DialogueResult],
              messages: list[TurnResult]) -> dict[str, Any]:
    """The figures: facts, intent, both (cases), dialogues, message intent, p50 latency."""
    latencies = sorted(t.latency_ms for t in [*cases, *messages, *(x for d in dialogues for x in d.turns)]
                       if t.error is None)
    p50 = latencies[len(latencies) // 2] if latencies else None
    return {
        "facts": _rate(sum(c.facts and c.error is None for c in cases), len(cases)),
        # Over the cases that expect an intent.
        "intent": _rate(sum(c.intent_ok is True for c in cases), sum(c.intent_ok is not None for c in cases)),
        "both": _rate(sum(c.passed for c in cases), len(cases)),
        "dialogs": _rate(sum(d.passed for d in dialogues), len(dialogues)),
        "dialog_turns": _rate(sum(t.passed for d in dialogues for t in d.turns),
                              sum(len(d.turns) for d in dialogues)),
        "messages_intent": _rate(sum(m.intent_ok is True for m in messages), len(messages)),
        "p50_latency_ms": None if p50 is None else round(p50, 1),
    }


def summary_line(summary: Mapping[str, Any]) -> str:
    def part(name: str, key: str) -> str:
        r = summary[key]
        pct = f"{100 * r['rate']:.1f}%" if r["rate"] is not None else "-"
        return f"{name} {r['passed']}/{r['total']} {pct}"

    p50 = summary["p50_latency_ms"]
    latency = f"p50 latency {p50:.0f} ms" if p50 is not None else "p50 latency -"
    return "SUMMARY " + " | ".join([part("facts", "facts"), part("intent", "intent"), part("both", "both"),
                                    part("dialogs", "dialogs"), part("messages intent", "messages_intent"),
                                    latency])
