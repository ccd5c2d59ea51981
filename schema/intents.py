"""The shopper-intent taxonomy: its typed form and its loader.

Owns: reading and validating ``intents.json`` (which sits next to this
module) into immutable :class:`Intent` records. The JSON is the single
source of truth; the labelled NLU data in ``data/nlu/`` uses exactly these
names. Nothing is read at import time: call :func:`load_taxonomy` or
:func:`intent_names` when the names are needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parent / "intents.json"

_REQUIRED_STR_FIELDS = ("name", "zh", "definition")


class TaxonomyError(ValueError):
    """The taxonomy file is missing, not JSON, or has a bad entry."""


@dataclass(frozen=True)
class Intent:
    """One intent: machine name, Chinese label, English definition, examples.

    >>> Intent("greeting", "问候", "Openers.", ("在吗",)).name
    'greeting'
    """

    name: str
    zh: str
    definition: str
    examples: tuple[str, ...]


def _entry_label(index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"entry {index} ({name!r})" if isinstance(name, str) else f"entry {index}"


def _parse_entry(index: int, raw: Any) -> Intent:
    label = _entry_label(index, raw)
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{label}: expected an object, got {type(raw).__name__}")
    for field in _REQUIRED_STR_FIELDS:
        value = raw.get(field)
        if not isinstance(value, str) or not value.strip():
            raise TaxonomyError(f"{label}: field {field!r} must be a non-empty string")
    examples = raw.get("examples")
    if not isinstance(examples, list) or not examples:
        raise TaxonomyError(f"{label}: field 'examples' must be a non-empty list")
    for j, example in enumerate(examples):
        if not isinstance(example, str) or not example.strip():
            raise TaxonomyError(f"{label}: field 'examples'[{j}] must be a non-empty string")
    return Intent(
        name=raw["name"].strip(),
        zh=raw["zh"].strip(),
        definition=raw["definition"].strip(),
        examples=tuple(e.strip() for e in examples),
    )


def load_taxonomy(path: Path | str | None = None) -> tuple[Intent, ...]:
    """Read and validate the taxonomy.

    Args:
        path: a JSON file holding a list of intent objects; defaults to the
            ``intents.json`` shipped next to this module.

    Returns:
        The intents in file order.

    Raises:
        TaxonomyError: the file cannot be read or parsed, is not a non-empty
            list, an entry lacks a field or has the wrong type (the message
            names the entry and the field), or two entries share a name.
    """
    source = Path(path) if path is not None else DEFAULT_TAXONOMY_PATH
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except OSError as e:
        raise TaxonomyError(f"cannot read taxonomy file {source}") from e
    except json.JSONDecodeError as e:
        raise TaxonomyError(f"taxonomy file {source} is not valid JSON: {e.msg}") from e
    if not isinstance(raw, list) or not raw:
        raise TaxonomyError(f"taxonomy file {source} must hold a non-empty JSON list")

    intents = tuple(_parse_entry(i, entry) for i, entry in enumerate(raw))
    seen: set[str] = set()
    for i, intent in enumerate(intents):
        if intent.name in seen:
            raise TaxonomyError(f"entry {i}: field 'name' duplicates {intent.name!r}")
        seen.add(intent.name)
    return intents


def intent_names(path: Path | str | None = None) -> tuple[str, ...]:
    """Names of all intents in taxonomy order; raises :class:`TaxonomyError`."""
    return tuple(intent.name for intent in load_taxonomy(path))
