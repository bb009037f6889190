"""Bulk operations as records: started, finished, read with what they changed, undone.

A leaf of the domain layer. The bulk changes themselves (statuses, dates, undo) are flows:
they move task instances through the tasks domain and record each run here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import AuditService
from supplytrack.bulk.exceptions import NotUndoable, UndoConflict
from supplytrack.bulk.models import BulkKind, BulkOperation, BulkState
from supplytrack.bulk.repository import BulkRepository
from supplytrack.core.context import current_request_id
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import NotFound
from supplytrack.core.identity import Actor
from supplytrack.core.time import utcnow

_SHOWN = (
    "id",
    "kind",
    "state",
    "project_id",
    "actor",
    "request_id",
    "params",
    "summary",
    "job_id",
    "undo_of_id",
    "created_at",
    "finished_at",
)


def _column(name: str) -> str:
    """The attribute of an API (camelCase) name."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class BulkService:
    """Start, finish and read bulk operations for one actor."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.operations = BulkRepository(session)
        self.audit = AuditService(session, actor)

    def start(
        self,
        kind: BulkKind,
        project_id: int | None,
        params: dict[str, Any],
        *,
        undo_of: int | None = None,
    ) -> BulkOperation:
        """Record a bulk operation that is being applied now (RUNNING), audited."""
        operation = self.operations.add(
            BulkOperation(
                kind=kind,
                state=BulkState.RUNNING,
                project_id=project_id,
                actor_id=self.actor.token_id,
                actor=self.actor.label,
                request_id=current_request_id(),
                params=params,
                summary={},
                undo_of_id=undo_of,
            )
        )
        self.audit.created(
            AuditEntity.OPERATION,
            operation.id,
            {
                "kind": kind,
                "state": operation.state,
                "projectId": project_id,
                "params": params,
                "undoOfId": undo_of,
            },
            source=ChangeSource.BULK,
        )
        return operation

    def move(self, operation: BulkOperation, state: BulkState, **more: object) -> None:
        """Set an operation's state (and more of its fields, by API name), audited."""
        before: dict[str, object] = {"state": operation.state}
        after: dict[str, object] = {"state": state}
        operation.state = state
        for name, value in more.items():
            before[name] = getattr(operation, _column(name))
            after[name] = value
            setattr(operation, _column(name), value)
        self.session.flush()
        self.audit.changed(
            AuditEntity.OPERATION, operation.id, before, after, source=ChangeSource.BULK
        )

    def queued(self, operation: BulkOperation, job_id: int) -> None:
        """The operation runs as job ``job_id``: QUEUED until a worker starts it."""
        self.move(operation, BulkState.QUEUED, jobId=job_id)

    def get_for_update(self, operation_id: int) -> BulkOperation:
        """One operation, locked (404 when missing)."""
        operation = self.operations.get(operation_id, for_update=True)
        if operation is None:
            raise NotFound("bulk operation", operation_id)
        return operation

    def finish(self, operation: BulkOperation, state: BulkState, summary: dict[str, Any]) -> None:
        """Record how an operation ended (audited, with its summary)."""
        self.move(
            operation,
            state,
            summary={**operation.summary, **summary},
            finishedAt=utcnow(),
        )

    def view(self, operation_id: int) -> dict[str, Any]:
        """An operation with the counts of what it changed."""
        operation = self.operations.get(operation_id)
        if operation is None:
            raise NotFound("bulk operation", operation_id)
        instances, by_field = self.operations.change_counts(operation_id)
        return {
            **{name: getattr(operation, name) for name in _SHOWN},
            "changed_instances": instances,
            "changes_by_field": by_field,
        }

    def recent(self, limit: int = 10) -> Sequence[BulkOperation]:
        """The newest operations, newest first (for the bulk page's list)."""
        return self.operations.recent(limit)

    def undone_by(self, operation_id: int) -> BulkOperation | None:
        """The operation that undid ``operation_id`` (None while it stands)."""
        return self.operations.undo_of(operation_id)

    def undoable(self, operation_id: int) -> tuple[BulkOperation, Sequence[AnyRow]]:
        """A locked operation that may be undone, and its history rows in order (409 if not).

        Refused when it is not APPLIED or PARTIAL, is itself an undo, or when any row it
        changed has been changed since (listed).
        """
        original = self.get_for_update(operation_id)
        if original.state not in {BulkState.APPLIED, BulkState.PARTIAL} or (
            original.kind == BulkKind.UNDO
        ):
            raise NotUndoable(operation_id, original.state)
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
        return original, self.operations.changes(operation_id)
