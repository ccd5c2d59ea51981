"""Reply templates (话术) kept as data in ``templates.json``.

Variation is deterministic per session and turn, so a conversation can be
replayed and tested, while different shoppers see different wordings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dialog.errors import DialogError

DEFAULT_PATH = Path(__file__).with_name("templates.json")


class TemplateError(DialogError):
    """A template key is missing or a placeholder was not supplied."""


class Templates:
    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        bad = [k for k, v in data.items() if not (isinstance(v, list) and v and all(isinstance(s, str) for s in v))]
        if bad:
            raise TemplateError(f"{path}: templates must be non-empty lists of strings: {bad}")
        self._templates: dict[str, list[str]] = data

    def keys(self) -> list[str]:
        return sorted(self._templates)

    def render(self, key: str, seed: str = "", **slots: object) -> str:
        """Pick a variant by ``seed`` and fill its placeholders."""
        variants = self._templates.get(key)
        if variants is None:
            raise TemplateError(f"no template {key!r}")
        index = int(hashlib.sha1(f"{key}|{seed}".encode()).hexdigest(), 16) % len(variants)
        try:
            return variants[index].format(**slots)
        except KeyError as e:
            raise TemplateError(f"template {key!r} needs slot {e.args[0]!r}") from e
