"""Validate the NLU data files against the intent taxonomy.

Owns: the data-quality gate for ``data/nlu/``. Checks that

* every row of ``intents_train.jsonl`` / ``intents_test.jsonl`` is
  ``{"text": str, "intent": str}`` with an intent from ``schema/intents.json``;
* per-intent and total minima hold (train >= 90 per intent and 2,300 total,
  test >= 20 per intent and 460 total);
* no text repeats inside a file, and no test line is an exact or near
  duplicate of a train line: the highest ``rapidfuzz.fuzz.ratio`` between a
  test line and any train line (both normalised: lower-cased, whitespace and
  punctuation removed) must not exceed ``MAX_SIMILARITY``;
* ``emotion.jsonl`` rows are ``{"text", "level", "angry"}`` with
  ``angry == 1`` exactly when ``level == "furious"``, and >= 300 rows.

``--store DIR`` (repeatable) checks that no training line (intents or emotion)
is word for word, after the same normalisation and from ``MIN_COPY_CHARS``
characters, one of the messages a store measures the bot with: its
``shopper_messages.tsv`` (column ``text``) and ``cases.jsonl`` (``question``).
A store's messages are a measurement, never training data.

``--prune-test`` rewrites the test file without the lines that are too close
to train (use it once after hand-writing new test lines, then re-check).
Exit status 0 when all checks pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
TRAIN = HERE / "intents_train.jsonl"
TEST = HERE / "intents_test.jsonl"
EMOTION = HERE / "emotion.jsonl"

MIN_TRAIN_PER_INTENT, MIN_TRAIN_TOTAL = 90, 2300
MIN_TEST_PER_INTENT, MIN_TEST_TOTAL = 20, 460
MIN_EMOTION = 300
MAX_SIMILARITY = 85.0
EMOTION_LEVELS = ("calm", "annoyed", "furious")

_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Row:
    text: str
    intent: str


def normalise(text: str) -> str:
    """Lower-case and drop whitespace and punctuation before comparing."""
    return _STRIP.sub("", text.lower())


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_intent_rows(path: Path, known: set[str], errors: list[str]) -> list[Row]:
    rows: list[Row] = []
    for number, raw in enumerate(read_jsonl(path), 1):
        text, intent = raw.get("text"), raw.get("intent")
        if set(raw) != {"text", "intent"} or not isinstance(text, str) or not text.strip():
            errors.append(f"{path.name}:{number}: expected {{text, intent}}, got {raw!r}")
            continue
        if intent not in known:
            errors.append(f"{path.name}:{number}: unknown intent {intent!r}")
            continue
        rows.append(Row(text, str(intent)))
    return rows


def check_counts(
    name: str,
    rows: list[Row],
    intents: tuple[str, ...],
    per: int,
    total: int,
    errors: list[str],
) -> Counter[str]:
    counts = Counter(row.intent for row in rows)
    for intent in intents:
        if counts[intent] < per:
            errors.append(f"{name}: {intent} has {counts[intent]} rows, need >= {per}")
    if len(rows) < total:
        errors.append(f"{name}: {len(rows)} rows, need >= {total}")
    dupes = [t for t, c in Counter(normalise(r.text) for r in rows).items() if c > 1]
    if dupes:
        errors.append(f"{name}: {len(dupes)} duplicated texts, e.g. {dupes[:5]}")
    return counts


def nearest_train(test: list[Row], train: list[Row]) -> list[tuple[float, str]]:
    """For each test row, the best fuzz.ratio against train and that train text."""
    train_norm = [normalise(r.text) for r in train]
    matrix = process.cdist([normalise(r.text) for r in test], train_norm, scorer=fuzz.ratio, workers=-1)
    best = matrix.argmax(axis=1)
    return [(float(matrix[i, j]), train[j].text) for i, j in enumerate(best)]


MIN_COPY_CHARS = 6  # shorter lines (在吗, 谢谢亲) are what every shopper types, not a copy


def store_messages(folder: Path, errors: list[str]) -> set[str]:
    """Normalised texts a store measures the bot with (its shopper messages and case questions)."""
    keys: set[str] = set()
    tsv = folder / "shopper_messages.tsv"
    if tsv.is_file():
        lines = tsv.read_text(encoding="utf-8").splitlines()
        header = lines[0].split("\t") if lines else []
        if "text" not in header:
            errors.append(f"{tsv}:1: no 'text' column in the header")
        else:
            column = header.index("text")
            keys |= {normalise(cells[column]) for cells in (line.split("\t") for line in lines[1:])
                     if len(cells) > column}
    cases = folder / "cases.jsonl"
    if cases.is_file():
        keys |= {normalise(str(raw.get("question", ""))) for raw in read_jsonl(cases)}
    if not tsv.is_file() and not cases.is_file():
        errors.append(f"--store {folder}: neither shopper_messages.tsv nor cases.jsonl found")
    return {k for k in keys if len(k) >= MIN_COPY_CHARS}


def check_copies(store: Path, keys: set[str], files: dict[Path, list[str]], errors: list[str]) -> None:
    for path, texts in files.items():
        copies = [t for t in texts if normalise(t) in keys]
        if copies:
            errors.append(f"{path}: {len(copies)} lines copy a message of the store {store}: {copies[:5]}")


def check_emotion(path: Path, errors: list[str]) -> Counter[str]:
    levels: Counter[str] = Counter()
    seen: set[str] = set()
    for number, raw in enumerate(read_jsonl(path), 1):
        text, level, angry = raw.get("text"), raw.get("level"), raw.get("angry")
        if not isinstance(text, str) or level not in EMOTION_LEVELS or angry not in (0, 1):
            errors.append(f"{path.name}:{number}: bad row {raw!r}")
            continue
        if (angry == 1) != (level == "furious"):
            errors.append(f"{path.name}:{number}: angry={angry} but level={level}")
        key = normalise(text)
        if key in seen:
            errors.append(f"{path.name}:{number}: duplicate text {text!r}")
        seen.add(key)
        levels[str(level)] += 1
    if sum(levels.values()) < MIN_EMOTION:
        errors.append(f"{path.name}: {sum(levels.values())} rows, need >= {MIN_EMOTION}")
    return levels


def prune_test(test: list[Row], nearest: list[tuple[float, str]]) -> list[Row]:
    kept = [row for row, (score, _) in zip(test, nearest, strict=True) if score <= MAX_SIMILARITY]
    with TEST.open("w", encoding="utf-8") as handle:
        for row in kept:
            handle.write(json.dumps({"text": row.text, "intent": row.intent}, ensure_ascii=False))
            handle.write("\n")
    for row, (score, match) in zip(test, nearest, strict=True):
        if score > MAX_SIMILARITY:
            print(f"pruned {row.intent:17s} {score:5.1f} {row.text!r} ~ {match!r}")
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prune-test", action="store_true")
    parser.add_argument("--show", type=int, default=5, help="closest test/train pairs to print")
    parser.add_argument("--store", type=Path, action="append", default=[],
                        help="a store folder whose shopper messages and cases no training line may copy")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO_ROOT))
    from schema.intents import intent_names

    intents = intent_names()
    errors: list[str] = []
    train = load_intent_rows(TRAIN, set(intents), errors)
    test = load_intent_rows(TEST, set(intents), errors)
    nearest = nearest_train(test, train)
    if args.prune_test:
        test = prune_test(test, nearest)
        nearest = nearest_train(test, train)

    train_counts = check_counts("train", train, intents, MIN_TRAIN_PER_INTENT, MIN_TRAIN_TOTAL, errors)
    test_counts = check_counts("test", test, intents, MIN_TEST_PER_INTENT, MIN_TEST_TOTAL, errors)
    exact = {normalise(r.text) for r in train} & {normalise(r.text) for r in test}
    if exact:
        errors.append(f"train/test exact overlap: {sorted(exact)[:5]}")
    worst = max((score for score, _ in nearest), default=0.0)
    if worst > MAX_SIMILARITY:
        errors.append(f"max train/test similarity {worst:.1f} > {MAX_SIMILARITY}")
    levels = check_emotion(EMOTION, errors)
    emotion_texts = [str(raw.get("text", "")) for raw in read_jsonl(EMOTION)]
    for store in args.store:
        check_copies(store, store_messages(store, errors),
                     {TRAIN: [r.text for r in train], EMOTION: emotion_texts}, errors)

    print(f"{'intent':18s} train  test")
    for intent in intents:
        print(f"{intent:18s} {train_counts[intent]:5d} {test_counts[intent]:5d}")
    print(f"{'total':18s} {len(train):5d} {len(test):5d}")
    print(f"max train/test fuzz.ratio: {worst:.1f}")
    ranked = sorted(zip(nearest, test, strict=True), key=lambda p: -p[0][0])[: args.show]
    for (score, match), row in ranked:
        print(f"  {score:5.1f} test {row.text!r} ~ train {match!r}")
    total = sum(levels.values()) or 1
    shares = ", ".join(f"{lv} {levels[lv]} ({levels[lv] / total:.0%})" for lv in EMOTION_LEVELS)
    print(f"emotion: {sum(levels.values())} rows: {shares}")
    for error in errors:
        print("ERROR:", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
