"""Recording changes in the audit trail, in the same transaction as the change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from supplytrack.audit.models import (
    AuditEntity,
    AuditLog,
    ChangeSource,
    HistoryField,
    ReasonCode,
    TaskInstanceHistory,
)
from supplytrack.audit.repository import AuditFilter, HistoryFilter, HistoryRepository

__all__ = [
    "AuditFilter",
    "AuditService",
    "Change",
    "HistoryFilter",
    "Why",
    "as_text",
    "new_change_id",
]
from supplytrack.core.context import current_request_id
from supplytrack.core.identity import Actor
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


def new_change_id() -> str:
    """A fresh id grouping every row one logical change writes (the change and its cascade)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Why:
    """Why a change is made: the audit trail's reason, reason code and change id."""

    reason: str | None = None
    reason_code: ReasonCode | None = None
    change_id: str | None = None
    bulk_operation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One field of one instance going from ``old`` to ``new`` (``source``: who moved it)."""

    task_instance_id: int
    field: HistoryField
    old: object
    new: object
    source: ChangeSource | None = None  # None: the source the whole record() names


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
        why: Why,
        changed_at: datetime | None = None,
    ) -> None:
        """Append one history row per changed field of a task instance, in one statement."""
        request_id = current_request_id()
        reason_code = as_text(why.reason_code)
        self.history.append(
            [
                (
                    change.task_instance_id,
                    as_text(change.field),
                    as_text(change.old),
                    as_text(change.new),
                    self.actor.token_id,
                    self.actor.label,
                    why.reason,
                    as_text(change.source or source),
                    why.bulk_operation_id,
                    request_id,
                    reason_code,
                    why.change_id,
                )
                for change in changes
            ],
            changed_at or utcnow(),
        )

    def record_from(
        self,
        changes: Select[Any],
        *,
        source: ChangeSource,
        why: Why,
        changed_at: datetime | None = None,
    ) -> None:
        """Append history rows set-based: one INSERT ... SELECT over ``changes``.

        ``changes`` selects (task_instance_id, field, old_value, new_value) as text, one row
        per change; who, why and when are the same for all of them. For changes of thousands
        of rows that the database computes itself (a uniform shift), so none is loaded.
        """
        self.history.append_from(
            changes,
            {
                "actor_id": self.actor.token_id,
                "actor": self.actor.label,
                "reason": why.reason,
                "source": as_text(source),
                "bulk_operation_id": why.bulk_operation_id,
                "request_id": current_request_id(),
                "reason_code": as_text(why.reason_code),
                "change_id": why.change_id,
            },
            changed_at or utcnow(),
        )

    def log(
        self,
        entity: AuditEntity,
        entity_id: int,
        fields: Sequence[tuple[str, object, object]],
        *,
        source: ChangeSource,
        why: Why,
    ) -> None:
        """Append audit-log rows for a change of a template, calendar, project or supplier."""
        rows = [
            {
                "entity": entity,
                "entity_id": entity_id,
                "field": name,
                "old_value": as_text(old),
                "new_value": as_text(new),
                **self._who(source, why),
            }
            for name, old, new in fields
        ]
        self.history.append_log(rows)

    def _who(self, source: ChangeSource, why: Why) -> dict[str, object]:
        return {
            "changed_at": utcnow(),
            "actor_id": self.actor.token_id,
            "actor": self.actor.label,
            "reason": why.reason,
            "reason_code": why.reason_code,
            "change_id": why.change_id,
            "source": source,
            "bulk_operation_id": why.bulk_operation_id,
            "request_id": current_request_id(),
        }

    def page(
        self, task_instance_id: int, where: HistoryFilter, *, before_id: int | None, limit: int
    ) -> Sequence[TaskInstanceHistory]:
        """The trail of one instance, newest first (visibility is the caller's check)."""
        return self.history.page(task_instance_id, where, before_id=before_id, limit=limit)

    def log_page(
        self, where: AuditFilter, *, before_id: int | None, limit: int
    ) -> Sequence[AuditLog]:
        """The audit log, newest first (staff data: the route admits admins and viewers)."""
        return self.history.log_page(where, before_id=before_id, limit=limit)
