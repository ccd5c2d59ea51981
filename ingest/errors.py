"""Named exceptions of the ingest package.

Owns: the error hierarchy. The CLI turns each into one clear message and an
exit code; the Flask API maps them to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.models import ValidationIssue


class IngestError(Exception):
    """Root of every error raised by ingest."""


class InputError(IngestError):
    """A path cannot be read or its kind of data cannot be told from its name."""


class ValidationFailed(IngestError):
    """One or more records are invalid; nothing was written."""

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        self.issues = list(issues)
        shown = "; ".join(str(i) for i in self.issues[:5]) + ("; ..." if len(self.issues) > 5 else "")
        super().__init__(f"{len(self.issues)} problem(s) in the input, nothing was written: {shown}")


class ChangeSetNotFound(IngestError):
    """No change set has the given id."""


class ChangeSetStateError(IngestError):
    """The change set is not in a state that allows the operation (e.g. apply twice)."""


class StaleChangeSetError(IngestError):
    """The graph changed since the change set was computed; nothing was written."""

    def __init__(self, change_set_id: str, conflicts: Sequence[str]) -> None:
        self.change_set_id = change_set_id
        self.conflicts = list(conflicts)
        shown = ", ".join(self.conflicts[:20]) + (" ..." if len(self.conflicts) > 20 else "")
        super().__init__(
            f"change set {change_set_id} is stale: {len(self.conflicts)} entit(ies) changed since "
            f"it was computed: {shown}"
        )


class TransactionTooLarge(IngestError):
    """Neo4j ran out of transaction memory; the load was rolled back (not retried)."""


class WriteAborted(IngestError):
    """A write transaction was rolled back (a re-check inside it failed or Neo4j failed)."""
