"""Recording changes in the audit trail, in the same transaction as the change."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select, inspect
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
    "as_json",
    "as_text",
    "new_change_id",
    "record_of",
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
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=as_text, separators=(",", ":"))
    return str(value)


# What a create or a delete writes as its one audit row's field (the whole object as JSON).
CREATED = "created"
DELETED = "deleted"
# How many instances an assignment or a new milestone fanned out (new_value: the count).
FANNED_OUT = "fannedOut"
# Bookkeeping, not content (version and timestamps move with every change), and secrets.
_NOT_AUDITED = frozenset({"id", "version", "created_at", "updated_at", "digest"})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def record_of(row: object) -> dict[str, object]:
    """A mapped row's audited columns by their API (camelCase) names, secrets left out."""
    return {
        _camel(column.key): getattr(row, column.key)
        for column in inspect(type(row)).column_attrs
        if column.key not in _NOT_AUDITED
    }


def as_json(values: Mapping[str, object]) -> str:
    """A whole object as the audit trail writes it (sorted keys, dates as ISO text)."""
    return json.dumps(values, sort_keys=True, default=as_text, separators=(",", ":"))


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

    def created(
        self,
        entity: AuditEntity,
        entity_id: int,
        values: Mapping[str, object],
        *,
        source: ChangeSource = ChangeSource.API,
        why: Why | None = None,
    ) -> None:
        """Record that an object was made: one row, the whole object as JSON in new_value."""
        self.log(
            entity, entity_id, [(CREATED, None, as_json(values))], source=source, why=why or Why()
        )

    def deleted(
        self,
        entity: AuditEntity,
        entity_id: int,
        values: Mapping[str, object],
        *,
        source: ChangeSource = ChangeSource.API,
        why: Why | None = None,
    ) -> None:
        """Record that an object was deleted: one row, the whole object as JSON in old_value."""
        self.log(
            entity, entity_id, [(DELETED, as_json(values), None)], source=source, why=why or Why()
        )

    def changed(
        self,
        entity: AuditEntity,
        entity_id: int,
        before: Mapping[str, object],
        after: Mapping[str, object],
        *,
        source: ChangeSource = ChangeSource.API,
        why: Why | None = None,
    ) -> list[str]:
        """Record every field whose value differs between ``before`` and ``after``; which."""
        fields = [
            (name, before.get(name), after.get(name))
            for name in sorted(before.keys() | after.keys())
            if as_text(before.get(name)) != as_text(after.get(name))
        ]
        if fields:
            self.log(entity, entity_id, fields, source=source, why=why or Why())
        return [name for name, _, _ in fields]

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
