"""Task statuses (kept free of any database import so pure modules can use them)."""

from __future__ import annotations

import enum


class TaskStatus(enum.StrEnum):
    """Where one supplier stands on one milestone."""

    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    BLOCKED = "BLOCKED"
    WAIVED = "WAIVED"


OPEN_STATUSES = frozenset(
    {
        TaskStatus.NOT_STARTED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.SUBMITTED,
        TaskStatus.REJECTED,
        TaskStatus.BLOCKED,
    }
)
DONE_STATUSES = frozenset({TaskStatus.APPROVED, TaskStatus.WAIVED})
# Overdue applies to work still in the supplier's hands (SUBMITTED waits on us).
OVERDUE_STATUSES = frozenset(
    {TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS, TaskStatus.REJECTED, TaskStatus.BLOCKED}
)
