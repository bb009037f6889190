"""Every query of bulk operations, their history rows, and idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.bulk.models import BulkOperation, IdempotencyKey
from supplytrack.core.db import AnyRow

H = TaskInstanceHistory


class BulkRepository:
    """Bulk operations (staff data: routes restrict who may read them)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, operation_id: int, *, for_update: bool = False) -> BulkOperation | None:
        """One operation."""
        stmt = select(BulkOperation).where(BulkOperation.id == operation_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def add(self, operation: BulkOperation) -> BulkOperation:
        """Insert an operation."""
        self.session.add(operation)
        self.session.flush()
        return operation

    def recent(self, limit: int) -> Sequence[BulkOperation]:
        """The newest operations, newest first."""
        stmt = select(BulkOperation).order_by(BulkOperation.id.desc()).limit(limit)
        return self.session.scalars(stmt).all()

    def undo_of(self, operation_id: int) -> BulkOperation | None:
        """The newest UNDO operation of ``operation_id``, if any."""
        stmt = (
            select(BulkOperation)
            .where(BulkOperation.undo_of_id == operation_id)
            .order_by(BulkOperation.id.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def change_counts(self, operation_id: int) -> tuple[int, dict[str, int]]:
        """Instances touched and history rows per field."""
        rows = self.session.execute(
            select(H.field, func.count(), func.count(func.distinct(H.task_instance_id)))
            .where(H.bulk_operation_id == operation_id)
            .group_by(H.field)
        ).all()
        instances = self.session.scalar(
            select(func.count(func.distinct(H.task_instance_id))).where(
                H.bulk_operation_id == operation_id
            )
        )
        return int(instances or 0), {str(field): int(count) for field, count, _ in rows}

    def changes(self, operation_id: int) -> Sequence[AnyRow]:
        """(id, task_instance_id, field, old_value, new_value) of the operation, in order."""
        stmt = (
            select(H.id, H.task_instance_id, H.field, H.old_value, H.new_value)
            .where(H.bulk_operation_id == operation_id)
            .order_by(H.id)
        )
        return self.session.execute(stmt).all()

    def changed_since(self, operation_id: int) -> Sequence[AnyRow]:
        """(task_instance_id, field, id) of later history rows of what the operation changed."""
        mine = (
            select(H.task_instance_id, H.field, func.max(H.id).label("last"))
            .where(H.bulk_operation_id == operation_id)
            .group_by(H.task_instance_id, H.field)
            .subquery()
        )
        later = (
            select(H.task_instance_id, H.field, H.id)
            .join(mine, (mine.c.task_instance_id == H.task_instance_id) & (mine.c.field == H.field))
            .where(H.id > mine.c.last)
            .order_by(H.task_instance_id)
        )
        return self.session.execute(later).all()

    def idempotency(self, actor_id: int, key: str) -> IdempotencyKey | None:
        """The stored answer for an actor's key."""
        stmt = select(IdempotencyKey).where(
            IdempotencyKey.actor_id == actor_id, IdempotencyKey.key == key
        )
        return self.session.scalars(stmt).first()

    def remember(self, row: IdempotencyKey) -> None:
        """Store the first answer for a key."""
        self.session.add(row)
        self.session.flush()
