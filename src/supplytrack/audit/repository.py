"""Every query of the audit trail (appends and reads; the database refuses the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField, TaskInstanceHistory


class HistoryRepository:
    """Reads and appends of task_instance_history (callers check visibility first)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert history rows in one multi-row statement."""
        if rows:
            self.session.execute(insert(TaskInstanceHistory), list(rows))

    def page(
        self,
        task_instance_id: int,
        *,
        field: HistoryField | None,
        source: ChangeSource | None,
        before_id: int | None,
        limit: int,
    ) -> Sequence[TaskInstanceHistory]:
        """Newest first, one more than ``limit``."""
        stmt = select(TaskInstanceHistory).where(
            TaskInstanceHistory.task_instance_id == task_instance_id
        )
        if field is not None:
            stmt = stmt.where(TaskInstanceHistory.field == field)
        if source is not None:
            stmt = stmt.where(TaskInstanceHistory.source == source)
        if before_id is not None:
            stmt = stmt.where(TaskInstanceHistory.id < before_id)
        stmt = stmt.order_by(TaskInstanceHistory.id.desc()).limit(limit + 1)
        return self.session.scalars(stmt).all()
