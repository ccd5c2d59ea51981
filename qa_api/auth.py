"""Bearer tokens with roles: ``agent``, ``operator`` and ``admin`` (admin may do everything).

Tokens come from the configuration string ``"token1:agent,token2:operator:alice"``
and/or a file with one ``token:role[:name]`` per line (``#`` comments). A
presented token is hashed and compared with ``hmac.compare_digest`` against
every configured token's hash, without stopping at the first match, so the time
taken says nothing about which token or how many characters matched.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

ROLES = ("agent", "operator", "admin")


class TokenConfigError(ValueError):
    """The token list is malformed."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: str

    def may(self, roles: tuple[str, ...]) -> bool:
        return self.role == "admin" or self.role in roles


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def parse_tokens(text: str) -> list[tuple[str, Identity]]:
    """``"tok:role[:name]"`` entries separated by commas or new lines."""
    entries: list[tuple[str, Identity]] = []
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        parts = [p.strip() for p in item.split(":")]
        if len(parts) not in (2, 3) or not parts[0]:
            raise TokenConfigError("API token entries must look like token:role or token:role:name")
        token, role = parts[0], parts[1].lower()
        if role not in ROLES:
            raise TokenConfigError(f"unknown API token role {role!r}; expected one of {', '.join(ROLES)}")
        if len(token) < 8:
            raise TokenConfigError("API tokens must be at least 8 characters long")
        name = parts[2] if len(parts) == 3 and parts[2] else f"{role}-{hashlib.sha256(token.encode()).hexdigest()[:8]}"
        entries.append((token, Identity(name=name, role=role)))
    return entries


class TokenTable:
    """Checks presented bearer tokens against the configured ones."""

    def __init__(self, entries: list[tuple[str, Identity]]) -> None:
        self._entries = [(_digest(token), identity) for token, identity in entries]

    @classmethod
    def from_sources(cls, text: str, file: Path | None) -> TokenTable:
        entries = parse_tokens(text)
        if file is not None:
            try:
                entries += parse_tokens(file.read_text(encoding="utf-8"))
            except OSError as e:
                raise TokenConfigError(f"cannot read API tokens file {file}: {e}") from e
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, token: str) -> Identity | None:
        presented = _digest(token)
        found: Identity | None = None
        for digest, identity in self._entries:
            if hmac.compare_digest(presented, digest) and found is None:
                found = identity
        return found


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
