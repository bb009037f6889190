"""Undoing a bulk operation: revert every change it made, or nothing if any was changed since."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField
from supplytrack.audit.service import AuditService, Change, Why
from supplytrack.auth.actor import Actor
from supplytrack.bulk.exceptions import UndoConflict
from supplytrack.bulk.repository import BulkRepository
from supplytrack.core.time import utcnow
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.sets import InstanceSets


class Undo:
    """Reverts the history rows of one bulk operation under another (audited) operation."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.operations = BulkRepository(session)
        self.tasks = InstanceSets(session, actor)
        self.audit = AuditService(session, actor)

    def revert(self, operation_id: int, why: Why) -> int:
        """Revert everything operation ``operation_id`` changed; returns the rows reverted."""
        later = self.operations.changed_since(operation_id)
        if later:
            raise UndoConflict(
                [
                    {
                        "taskInstanceId": row.task_instance_id,
                        "field": row.field,
                        "historyId": row.id,
                    }
                    for row in later
                ]
            )
        # One revert per (instance, field): back to the value before the operation's first
        # change of it, from the value after its last one.
        first_old: dict[tuple[int, str], str | None] = {}
        last_new: dict[tuple[int, str], str | None] = {}
        for row in self.operations.changes(operation_id):
            key = (row.task_instance_id, str(row.field))
            first_old.setdefault(key, row.old_value)
            last_new[key] = row.new_value
        now = utcnow()
        dates = {
            instance: (
                date.fromisoformat(str(last_new[(instance, f)])),
                date.fromisoformat(str(old)),
            )
            for (instance, f), old in first_old.items()
            if f == HistoryField.ACTUAL_DUE
        }
        if dates:
            self.tasks.set_due_dates(dates, now)
        statuses = [
            (instance, TaskStatus(str(last_new[(instance, f)])), TaskStatus(str(old)))
            for (instance, f), old in first_old.items()
            if f == HistoryField.STATUS
        ]
        for target in sorted({old for _, _, old in statuses}):
            for source_done in (True, False):
                ids = [
                    i
                    for i, new, old in statuses
                    if old == target and (new in DONE_STATUSES) == source_done
                ]
                if ids:
                    self.tasks.set_status(ids, target, now, source_done=source_done)
        changes = [Change(i, HistoryField.ACTUAL_DUE, new, old) for i, (new, old) in dates.items()]
        changes += [Change(i, HistoryField.STATUS, new, old) for i, new, old in statuses]
        self.audit.record(changes, source=ChangeSource.BULK, why=why)
        return len(changes)
