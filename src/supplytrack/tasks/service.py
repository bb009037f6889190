"""The rules of task instances: the status machine, due dates, notes, and their audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField, TaskInstanceHistory
from supplytrack.audit.service import AuditService, Change
from supplytrack.auth.actor import Actor
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.pagination import Sort
from supplytrack.core.time import today, utcnow
from supplytrack.suppliers.models import AssignmentStatus, SupplierProject
from supplytrack.suppliers.service import AssignmentService, SupplierService
from supplytrack.tasks.exceptions import (
    AssignmentRemoved,
    CapabilityMissing,
    InstanceExists,
    InstanceHasHistory,
    SupplierFieldForbidden,
    TemplateOfOtherProject,
)
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import TaskFilter, TaskRepository
from supplytrack.tasks.state_machine import Mover, transition
from supplytrack.templates.models import TaskTemplate


class TaskService:
    """Create, read and move task instances; every change is audited in the same transaction."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.tasks = TaskRepository(session, actor)
        self.audit = AuditService(session, actor)

    @property
    def mover(self) -> Mover:
        """Which side of the status machine the actor is on."""
        return Mover.SUPPLIER if self.actor.is_supplier else Mover.MANAGER

    def get(self, instance_id: int, *, for_update: bool = False) -> TaskInstance:
        """A visible instance (404 otherwise, missing and not-yours alike)."""
        instance = self.tasks.get(instance_id, for_update=for_update)
        if instance is None:
            raise NotFound("task instance", instance_id)
        return instance

    def read(self, instance_id: int) -> AnyRow:
        """A visible instance as a read row, with ``overdue``."""
        row = self.tasks.read(instance_id, today())
        if row is None:
            raise NotFound("task instance", instance_id)
        return row

    def page(
        self, where: TaskFilter, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of visible instances (one more than ``limit``)."""
        return self.tasks.page(where, today(), sort=sort, cursor=cursor, limit=limit)

    def history(
        self,
        instance_id: int,
        *,
        field: HistoryField | None,
        source: ChangeSource | None,
        before_id: int | None,
        limit: int,
    ) -> Sequence[TaskInstanceHistory]:
        """The audit trail of a visible instance, newest first."""
        self.get(instance_id)
        return self.audit.page(
            instance_id, field=field, source=source, before_id=before_id, limit=limit
        )

    def fan_out_assignment(self, assignment: SupplierProject) -> int:
        """Create the assignment's missing instances (one statement); returns how many."""
        return self.tasks.fan_out_assignment(assignment, utcnow())

    def fan_out_template(self, template: TaskTemplate) -> int:
        """Create the template's instances for active, capable assignments (one statement)."""
        return self.tasks.fan_out_template(template, utcnow())

    def create(self, supplier_project_id: int, task_template_id: int) -> TaskInstance:
        """Create one instance by hand, with the checks fan-out makes implicitly."""
        from supplytrack.templates.service import TemplateService  # noqa: PLC0415

        assignment = AssignmentService(self.session, self.actor).get(supplier_project_id)
        template = TemplateService(self.session, self.actor).get(task_template_id)
        if template.project_id != assignment.project_id:
            raise TemplateOfOtherProject
        if assignment.status != AssignmentStatus.ACTIVE:
            raise AssignmentRemoved(assignment.id)
        capability = template.required_capability
        if capability is not None and capability not in SupplierService(
            self.session, self.actor
        ).capabilities(assignment.supplier_id):
            raise CapabilityMissing(assignment.supplier_id, capability)
        if self.tasks.exists_for(assignment.id, template.id):
            raise InstanceExists
        return self.tasks.add(
            TaskInstance(
                supplier_project_id=assignment.id,
                project_id=assignment.project_id,
                supplier_id=assignment.supplier_id,
                task_template_id=template.id,
                actual_due=template.canonical_due,
            )
        )

    def update(
        self, instance_id: int, changes: dict[str, Any], expected_version: int | None
    ) -> TaskInstance:
        """Apply a PATCH: status through the machine, due date, notes; one history row each."""
        instance = self.get(instance_id, for_update=True)
        check_version(instance.version, expected_version, f"task instance {instance_id}")
        reason: str | None = changes.get("reason")
        recorded: list[Change] = []
        if "status" in changes and changes["status"] != instance.status:
            recorded.append(self._move_status(instance, changes["status"], reason))
        if "actual_due" in changes and changes["actual_due"] != instance.actual_due:
            if self.actor.is_supplier:
                raise SupplierFieldForbidden
            recorded.append(
                Change(
                    instance.id, HistoryField.ACTUAL_DUE, instance.actual_due, changes["actual_due"]
                )
            )
            instance.actual_due = changes["actual_due"]
        if "notes" in changes and changes["notes"] != instance.notes:
            recorded.append(
                Change(instance.id, HistoryField.NOTES, instance.notes, changes["notes"])
            )
            instance.notes = changes["notes"]
        if recorded:
            self.session.flush()
            self.audit.record(recorded, source=ChangeSource.API, reason=reason)
        return instance

    def _move_status(self, instance: TaskInstance, target: Any, reason: str | None) -> Change:
        move = transition(instance.status, target, self.mover, reason)
        change = Change(instance.id, HistoryField.STATUS, instance.status, target)
        instance.submitted_at, instance.completed_at = move.stamps(
            instance.submitted_at, instance.completed_at, utcnow()
        )
        instance.status = target
        return change

    def delete(self, instance_id: int, expected_version: int | None) -> None:
        """Delete an instance that was never touched (409 otherwise: waive it)."""
        instance = self.get(instance_id, for_update=True)
        check_version(instance.version, expected_version, f"task instance {instance_id}")
        if instance.status.value != "NOT_STARTED" or self.tasks.has_history(instance_id):
            raise InstanceHasHistory(instance_id)
        self.tasks.delete(instance)
