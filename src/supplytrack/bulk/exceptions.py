"""Errors of bulk operations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supplytrack.core.errors import BusinessRuleError, Conflict


class BulkRefused(BusinessRuleError):
    """Atomic mode: some instances cannot move, so none does."""

    def __init__(self, refused: Sequence[dict[str, Any]], matched: int) -> None:
        super().__init__(
            f"{len(refused)} of {matched} instances cannot move; nothing was changed"
            " (mode partial applies the others)",
            code="BULK_REFUSED",
            details=list(refused[:1000]),
        )


class DateChangeRefused(BusinessRuleError):
    """The date change breaks rules; nothing was changed."""

    def __init__(self, violations: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            "the date change breaks rules; nothing was changed (GET shows the preview)",
            code="DATE_CHANGE_REFUSED",
            details=list(violations),
        )


class PreviewStale(Conflict):
    """The data changed since the preview in a way that changes the outcome."""

    def __init__(self, token: str) -> None:
        super().__init__(
            "the outcome differs from the preview (the data changed meanwhile); preview again",
            code="PREVIEW_STALE",
            details=[{"previewToken": token}],
        )


class UndoConflict(Conflict):
    """Rows the operation changed were changed again since; undo would lose those changes."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(rows)} changes of this operation were changed again since; nothing undone",
            code="UNDO_CONFLICT",
            details=list(rows[:1000]),
        )


class NotUndoable(Conflict):
    """Only applied operations can be undone, once."""

    def __init__(self, operation_id: int, state: str) -> None:
        super().__init__(
            f"bulk operation {operation_id} is {state}; only APPLIED or PARTIAL ones can be undone",
            code="NOT_UNDOABLE",
        )


class IdempotencyKeyReused(BusinessRuleError):
    """The same Idempotency-Key came with another request."""

    def __init__(self) -> None:
        super().__init__(
            "this Idempotency-Key was used with another request body or path",
            code="IDEMPOTENCY_KEY_REUSED",
        )
