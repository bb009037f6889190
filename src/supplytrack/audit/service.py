"""Recording changes in the audit trail, in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField, TaskInstanceHistory
from supplytrack.audit.repository import HistoryRepository
from supplytrack.auth.actor import Actor
from supplytrack.core.context import current_request_id
from supplytrack.core.time import utcnow


def as_text(value: object) -> str | None:
    """How a field's value is written in the audit trail."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class Change:
    """One field of one instance going from ``old`` to ``new``."""

    task_instance_id: int
    field: HistoryField
    old: object
    new: object


class AuditService:
    """Writes history rows for an actor, with the request id of the current request."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.actor = actor
        self.history = HistoryRepository(session)

    def record(
        self,
        changes: Sequence[Change],
        *,
        source: ChangeSource,
        reason: str | None,
        bulk_operation_id: int | None = None,
    ) -> None:
        """Append one history row per change."""
        now = utcnow()
        request_id = current_request_id()
        self.history.append(
            [
                {
                    "task_instance_id": change.task_instance_id,
                    "field": change.field,
                    "old_value": as_text(change.old),
                    "new_value": as_text(change.new),
                    "changed_at": now,
                    "actor_id": self.actor.token_id,
                    "actor": self.actor.label,
                    "reason": reason,
                    "source": source,
                    "bulk_operation_id": bulk_operation_id,
                    "request_id": request_id,
                }
                for change in changes
            ]
        )

    def page(
        self,
        task_instance_id: int,
        *,
        field: HistoryField | None,
        source: ChangeSource | None,
        before_id: int | None,
        limit: int,
    ) -> Sequence[TaskInstanceHistory]:
        """The trail of one instance, newest first (visibility is the caller's check)."""
        return self.history.page(
            task_instance_id, field=field, source=source, before_id=before_id, limit=limit
        )
