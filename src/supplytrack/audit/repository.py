"""Every query of the audit trail (appends and reads; the database refuses the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import (
    AuditLog,
    ChangeSource,
    HistoryField,
    ReasonCode,
    TaskInstanceHistory,
)


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Filters of an instance's audit trail."""

    field: HistoryField | None = None
    source: ChangeSource | None = None
    reason_code: ReasonCode | None = None
    change_id: str | None = None


class HistoryRepository:
    """Reads and appends of task_instance_history (callers check visibility first)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert history rows in one multi-row statement."""
        if rows:
            self.session.execute(insert(TaskInstanceHistory), list(rows))

    def append_log(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert audit-log rows (bulk_operation_id belongs to instance history only)."""
        if rows:
            self.session.execute(
                insert(AuditLog),
                [{k: v for k, v in row.items() if k != "bulk_operation_id"} for row in rows],
            )

    def page(
        self, task_instance_id: int, where: HistoryFilter, *, before_id: int | None, limit: int
    ) -> Sequence[TaskInstanceHistory]:
        """Newest first, one more than ``limit``."""
        h = TaskInstanceHistory
        stmt = select(h).where(h.task_instance_id == task_instance_id)
        for column, value in (
            (h.field, where.field),
            (h.source, where.source),
            (h.reason_code, where.reason_code),
            (h.change_id, where.change_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if before_id is not None:
            stmt = stmt.where(h.id < before_id)
        stmt = stmt.order_by(h.id.desc()).limit(limit + 1)
        return self.session.scalars(stmt).all()
