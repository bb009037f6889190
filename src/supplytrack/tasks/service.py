"""The rules of task instances: the status machine, due dates, notes, and their audit rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField, TaskInstanceHistory
from supplytrack.audit.repository import HistoryFilter
from supplytrack.audit.service import AuditService, Change, Why, new_change_id
from supplytrack.auth.actor import Actor
from supplytrack.calendars.service import CalendarService
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import BusinessRuleError, NotFound
from supplytrack.core.http import check_version
from supplytrack.core.pagination import Sort
from supplytrack.core.time import today, utcnow
from supplytrack.projects.service import ProjectService
from supplytrack.schedule.exceptions import (
    DependencyOrder,
    PrerequisitesOpen,
    ReasonCodeRequired,
)
from supplytrack.schedule.plan import broken_dependencies
from supplytrack.suppliers.models import AssignmentStatus, SupplierProject
from supplytrack.suppliers.service import AssignmentService, SupplierService
from supplytrack.tasks.as_of import AsOfRepository, shape
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.exceptions import (
    AssignmentRemoved,
    CapabilityMissing,
    InstanceCompleted,
    InstanceExists,
    InstanceHasHistory,
    SupplierFieldForbidden,
    TemplateOfOtherProject,
)
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import TaskFilter
from supplytrack.tasks.scheduling import Scheduler, Unit, shift_date
from supplytrack.tasks.sets import InstanceSets
from supplytrack.tasks.state_machine import Mover, transition
from supplytrack.templates.models import TaskTemplate

if TYPE_CHECKING:
    from supplytrack.templates.service import TemplateService


def _template_service(session: Session, actor: Actor) -> TemplateService:
    # Imported late: the templates service calls this one to fan out and to follow moves.
    from supplytrack.templates.service import TemplateService  # noqa: PLC0415

    return TemplateService(session, actor)


def _check_as_of(day: date) -> None:
    if day > today():
        raise BusinessRuleError(
            "asOf must be today or a past day",
            code="AS_OF_IN_FUTURE",
            details=[{"field": "asOf"}],
        )


class TaskService:
    """Create, read and move task instances; every change is audited in the same transaction."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.tasks = InstanceSets(session, actor)
        self.audit = AuditService(session, actor)
        self.scheduler = Scheduler(session, actor)

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
        """A visible instance as a read row, with ``overdue`` and ``atRisk``."""
        row = self.tasks.read(instance_id, today())
        if row is None:
            raise NotFound("task instance", instance_id)
        return row

    def page(
        self, where: TaskFilter, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of visible instances (one more than ``limit``)."""
        return self.tasks.page(where, today(), sort=sort, cursor=cursor, limit=limit)

    def read_as_of(self, instance_id: int, day: date) -> dict[str, Any]:
        """A visible instance as it stood at the end of ``day`` (404 if not created yet)."""
        _check_as_of(day)
        row = AsOfRepository(self.session, self.actor).one(instance_id, day)
        if row is None:
            raise NotFound("task instance", instance_id)
        return row

    def page_as_of(
        self, where: TaskFilter, day: date, *, cursor: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """A page of visible instances as they stood at the end of ``day`` (by id)."""
        _check_as_of(day)
        rows = AsOfRepository(self.session, self.actor).page(where, day, cursor=cursor, limit=limit)
        return [shape(row, day) for row in rows]

    def history(
        self, instance_id: int, where: HistoryFilter, *, before_id: int | None, limit: int
    ) -> Sequence[TaskInstanceHistory]:
        """The audit trail of a visible instance, newest first."""
        self.get(instance_id)
        return self.audit.page(instance_id, where, before_id=before_id, limit=limit)

    def fan_out_assignment(self, assignment: SupplierProject) -> int:
        """Create the assignment's missing instances (one statement); returns how many."""
        created = self.tasks.fan_out_assignment(assignment, utcnow())
        if created:
            self.repair_order(assignment.project_id, [assignment.id])
        return created

    def fan_out_template(self, template: TaskTemplate) -> int:
        """Create the template's instances for active, capable assignments (one statement)."""
        created = self.tasks.fan_out_template(template, utcnow())
        if created:
            graph = _template_service(self.session, self.actor).graph(template.project_id)
            self.repair_order(
                template.project_id, None, template_ids=[template.id, *graph[template.id]]
            )
        return created

    def repair_order(
        self,
        project_id: int,
        supplier_project_ids: Iterable[int] | None,
        *,
        template_ids: Iterable[int] | None = None,
    ) -> int:
        """Move new instances after prerequisites a supplier already had moved (audited)."""
        graph = _template_service(self.session, self.actor).graph(project_id)
        if not any(graph.values()):
            return 0
        loaded = self.scheduler.load(
            project_id, graph, supplier_project_ids=supplier_project_ids, template_ids=template_ids
        )
        plan = self.scheduler.repair_plan(loaded)
        why = Why(
            reason="kept after a prerequisite the supplier had moved", change_id=new_change_id()
        )
        return self.scheduler.apply(plan, seed_source=ChangeSource.SYSTEM, why=why)

    def follow_templates(
        self,
        project_id: int,
        template_moves: Mapping[int, tuple[date, date]],
        *,
        force: bool,
        cascade: bool,
        unit: Unit,
        why: Why,
    ) -> int:
        """Instances still on a moved template's old date follow it (all of them with force)."""
        project = ProjectService(self.session, self.actor).get(project_id)
        graph = _template_service(self.session, self.actor).graph(project_id)
        loaded = self.scheduler.load(project_id, graph)
        seeds = {
            node: template_moves[template][1]
            for node, template in loaded.template_of.items()
            if template in template_moves
            and (force or loaded.dates[node] == template_moves[template][0])
        }
        calendar = CalendarService(self.session, self.actor).calendar(project_id)
        plan = self.scheduler.plan(loaded, seeds, cascade=cascade, unit=unit, calendar=calendar)
        self.scheduler.check(plan, loaded, project, why)
        return self.scheduler.apply(plan, seed_source=ChangeSource.CASCADE, why=why)

    def check_order(self, project_id: int, template_id: int) -> None:
        """Refuse new prerequisites of a template that some supplier's dates already break."""
        graph = _template_service(self.session, self.actor).graph(project_id)
        loaded = self.scheduler.load(
            project_id, graph, template_ids=[template_id, *graph.get(template_id, [])]
        )
        broken = [
            {
                "taskInstanceId": dependent,
                "actualDue": loaded.dates[dependent].isoformat(),
                "prerequisiteId": prerequisite,
                "prerequisiteDue": loaded.dates[prerequisite].isoformat(),
            }
            for prerequisite, dependent in broken_dependencies(
                loaded.graph, loaded.dates.__getitem__
            )
            if loaded.template_of[dependent] == template_id
        ]
        if broken:
            raise DependencyOrder("task instances", broken)

    def open_needing(self, supplier_id: int, capabilities: Sequence[str]) -> list[int]:
        """Ids of the supplier's open instances whose milestone needs one of ``capabilities``."""
        return [row.id for row in self.tasks.open_needing(supplier_id, capabilities)]

    def waive_needing(self, supplier_id: int, capabilities: Sequence[str], why: Why) -> None:
        """Waive the open instances that need ``capabilities`` (set-based, audited)."""
        rows = self.tasks.open_needing(supplier_id, capabilities)
        for row in rows:
            transition(row.status, TaskStatus.WAIVED, Mover.MANAGER, why.reason)
        self.tasks.set_done([row.id for row in rows], TaskStatus.WAIVED, utcnow())
        self.audit.record(
            [Change(row.id, HistoryField.STATUS, row.status, TaskStatus.WAIVED) for row in rows],
            source=ChangeSource.SYSTEM,
            why=why,
        )

    def create(self, supplier_project_id: int, task_template_id: int) -> TaskInstance:
        """Create one instance by hand, with the checks fan-out makes implicitly."""
        assignment = AssignmentService(self.session, self.actor).get(supplier_project_id)
        template = _template_service(self.session, self.actor).get(task_template_id)
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
        instance = self.tasks.add(
            TaskInstance(
                supplier_project_id=assignment.id,
                project_id=assignment.project_id,
                supplier_id=assignment.supplier_id,
                task_template_id=template.id,
                actual_due=template.canonical_due,
            )
        )
        self.repair_order(assignment.project_id, [assignment.id])
        return instance

    def update(
        self, instance_id: int, changes: dict[str, Any], expected_version: int | None
    ) -> TaskInstance:
        """Apply a PATCH: status through the machine, due date, notes; one history row each."""
        instance = self.get(instance_id, for_update=True)
        check_version(instance.version, expected_version, f"task instance {instance_id}")
        why = Why(changes.get("reason"), changes.get("reason_code"), new_change_id())
        recorded: list[Change] = []
        if "status" in changes and changes["status"] != instance.status:
            recorded.append(self._move_status(instance, changes["status"], why.reason))
        new_due = self._requested_due(instance, changes)
        if new_due is not None and new_due != instance.actual_due:
            recorded.append(self._move_due(instance, new_due, changes, why))
        if "notes" in changes and changes["notes"] != instance.notes:
            recorded.append(
                Change(instance.id, HistoryField.NOTES, instance.notes, changes["notes"])
            )
            instance.notes = changes["notes"]
        if recorded:
            self.session.flush()
            self.audit.record(recorded, source=ChangeSource.API, why=why)
        return instance

    def _requested_due(self, instance: TaskInstance, changes: Mapping[str, Any]) -> date | None:
        if changes.get("actual_due") is not None:
            return date.fromisoformat(str(changes["actual_due"]))
        for key, unit in (("shift_days", Unit.DAYS), ("shift_working_days", Unit.WORKING_DAYS)):
            if changes.get(key) is not None:
                calendar = CalendarService(self.session, self.actor).calendar(instance.project_id)
                return shift_date(instance.actual_due, int(changes[key]), unit, calendar)
        return None

    def _move_due(
        self, instance: TaskInstance, new_due: date, changes: Mapping[str, Any], why: Why
    ) -> Change:
        if self.actor.is_supplier:
            raise SupplierFieldForbidden
        if why.reason_code is None:
            raise ReasonCodeRequired
        if instance.status in DONE_STATUSES:
            raise InstanceCompleted(instance.id, instance.status)
        unit = Unit.WORKING_DAYS if changes.get("shift_working_days") is not None else Unit.DAYS
        project = ProjectService(self.session, self.actor).get(instance.project_id)
        graph = _template_service(self.session, self.actor).graph(project.id)
        loaded = self.scheduler.load(
            project.id,
            graph,
            supplier_project_ids=[instance.supplier_project_id],
            include_removed=True,
        )
        calendar = CalendarService(self.session, self.actor).calendar(project.id)
        plan = self.scheduler.plan(
            loaded,
            {instance.id: new_due},
            cascade=bool(changes.get("cascade")),
            unit=unit,
            calendar=calendar,
        )
        self.scheduler.check(plan, loaded, project, why)
        self.scheduler.apply(plan, seed_source=ChangeSource.API, why=why, skip=[instance.id])
        change = Change(instance.id, HistoryField.ACTUAL_DUE, instance.actual_due, new_due)
        instance.actual_due = new_due
        return change

    def _move_status(
        self, instance: TaskInstance, target: TaskStatus, reason: str | None
    ) -> Change:
        move = transition(instance.status, target, self.mover, reason)
        if move.needs_prerequisites_done:
            still_open = [
                {
                    "taskInstanceId": row.id,
                    "taskTemplateId": row.task_template_id,
                    "status": row.status,
                }
                for row in self.tasks.prerequisite_instances(instance)
                if row.status not in DONE_STATUSES
            ]
            if still_open:
                raise PrerequisitesOpen(still_open)
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
        if instance.status != TaskStatus.NOT_STARTED or self.tasks.has_history(instance_id):
            raise InstanceHasHistory(instance_id)
        self.tasks.delete(instance)
