"""Bulk operations as records: started, finished, read with what they changed, undone.

A leaf of the domain layer. The bulk changes themselves (statuses, dates, undo) are flows:
they move task instances through the tasks domain and record each run here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

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


class BulkService:
    """Start, finish and read bulk operations for one actor."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.operations = BulkRepository(session)

    def start(
        self,
        kind: BulkKind,
        project_id: int | None,
        params: dict[str, Any],
        *,
        undo_of: int | None = None,
    ) -> BulkOperation:
        """Record a bulk operation that is being applied now (RUNNING)."""
        return self.operations.add(
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

    def queued(self, operation: BulkOperation, job_id: int) -> None:
        """The operation runs as job ``job_id``: QUEUED until a worker starts it."""
        operation.job_id = job_id
        operation.state = BulkState.QUEUED
        self.session.flush()

    def get_for_update(self, operation_id: int) -> BulkOperation:
        """One operation, locked (404 when missing)."""
        operation = self.operations.get(operation_id, for_update=True)
        if operation is None:
            raise NotFound("bulk operation", operation_id)
        return operation

    @staticmethod
    def finish(operation: BulkOperation, state: BulkState, summary: dict[str, Any]) -> None:
        """Record how an operation ended."""
        operation.state = state
        operation.summary = {**operation.summary, **summary}
        operation.finished_at = utcnow()

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
