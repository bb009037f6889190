"""Creating one instance by hand, and the PATCH of one instance: status, due date, notes.

A PATCH is read and checked whole before anything is written: the status through the
machine and its prerequisite gate, the due date (and with ``cascade`` the supplier's
downstream instances) through the date engine. Then the instance is written in one UPDATE,
cascaded instances set-based, and every change's history row in one INSERT.

Given a read session, a PATCH of the status or the notes alone (the hot write) is checked on
a copy read there, outside the write transaction, and written with one UPDATE that holds only
if the instance still has the version read; if it changed meanwhile, the PATCH is done again
the locked way. So the write transaction (on SQLite: the database's one writer) lasts for two
statements, not for the reads and checks too. Moves into a state that needs the prerequisite
gate, and every date change, always take the locked way: they read other rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource
from supplytrack.audit.service import Why, new_change_id
from supplytrack.core.errors import SupplyTrackError
from supplytrack.flows.base import Flow, moves_of
from supplytrack.flows.fanout import FanOut
from supplytrack.planning.context import PlanningContext
from supplytrack.planning.exceptions import ReasonCodeRequired
from supplytrack.planning.repository import PlanningRepository
from supplytrack.planning.rules import DatePlan, check, plan_instances, violations
from supplytrack.planning.shifts import Unit, shift_date
from supplytrack.suppliers.service import AssignmentService, SupplierService
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.schemas import TaskInstanceCreate, TaskInstanceUpdate
from supplytrack.tasks.service import TaskService
from supplytrack.templates.service import TemplateService

_DATE_FIELDS = frozenset({"actual_due", "shift_days", "shift_working_days"})


@dataclass(frozen=True, slots=True)
class DuePreview:
    """The moves a due-date change would make, {id: (old, new, source)}, and its violations."""

    instance_id: int
    moves: dict[int, tuple[date, date, ChangeSource]]
    violations: list[SupplyTrackError]


class InstanceFlows:
    """The task-instance operations of one actor that need other domains."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.tasks = TaskService(flow.session, flow.actor)
        self.planning = PlanningRepository(flow.session)

    def create(self, command: TaskInstanceCreate) -> TaskInstance:
        """Create one instance by hand, with the checks fan-out makes implicitly."""
        session, actor = self.flow.session, self.flow.actor
        assignment = AssignmentService(session, actor).get(command.supplier_project_id)
        template = TemplateService(session, actor).get(command.task_template_id)
        capabilities = (
            SupplierService(session, actor).capabilities(assignment.supplier_id)
            if template.required_capability is not None
            else []
        )
        instance = self.tasks.create(assignment, template, capabilities)
        fan_out = FanOut(self.flow)
        fan_out.repair(fan_out.context(assignment.project_id), supplier_project_ids=[assignment.id])
        return instance

    def update(
        self,
        instance_id: int,
        command: TaskInstanceUpdate,
        expected_version: int | None,
        *,
        reads: Session | None = None,
    ) -> None:
        """Apply a PATCH (see the module): everything checked, then one UPDATE, one INSERT."""
        if (
            reads is not None
            and not command.model_fields_set & _DATE_FIELDS
            and self._update_unlocked(reads, instance_id, command, expected_version)
        ):
            return
        instance = self.tasks.get(instance_id, for_update=True)
        self.tasks.check_version(instance, expected_version)
        given = command.model_fields_set
        status = None
        if command.status is not None and command.status != instance.status:
            status = self.tasks.status_move(instance, command.status, command.reason)
        plan = self._date_plan(instance, command, status.status if status else instance.status)
        changes = self.tasks.write(
            instance,
            status=status,
            actual_due=plan.plan.new_date(instance.id, plan.before) if plan else None,
            notes=(command.notes,) if "notes" in given else None,
        )
        self.flow.session.flush()
        why = Why(command.reason, command.reason_code, new_change_id())
        cascaded = moves_of(plan, ChangeSource.API, skip=[instance.id]) if plan else {}
        self.tasks.move_dates(cascaded, source=ChangeSource.API, why=why, extra=changes)

    def _update_unlocked(
        self,
        reads: Session,
        instance_id: int,
        command: TaskInstanceUpdate,
        expected_version: int | None,
    ) -> bool:
        """The status/notes PATCH checked on a copy (see the module); False: do it locked."""
        try:
            instance = TaskService(reads, self.flow.actor).read(instance_id, self.flow.today)
        finally:
            reads.rollback()  # the check's snapshot ends here; the version decides below
        self.tasks.check_version(instance, expected_version)
        status = None
        if command.status is not None and command.status != instance.status:
            status = self.tasks.ungated_move(instance, command.status, command.reason)
            if status is None:
                return False
        notes = (command.notes,) if "notes" in command.model_fields_set else None
        changes = self.tasks.write_if_unchanged(instance, status=status, notes=notes)
        if changes is None:
            return False  # changed since it was read: check it again under the lock
        why = Why(command.reason, command.reason_code, new_change_id())
        self.tasks.move_dates({}, source=ChangeSource.API, why=why, extra=changes)
        return True

    def _date_plan(
        self, instance: TaskInstance, command: TaskInstanceUpdate, status_after: TaskStatus
    ) -> DatePlan | None:
        """The checked plan of the PATCH's due-date change, if it changes the date."""
        planned = self._unchecked_plan(instance, command, status_after)
        if planned is None:
            return None
        plan, context = planned
        check(plan, context)
        return plan

    def preview_due(
        self, instance_id: int, command: TaskInstanceUpdate, expected_version: int | None
    ) -> DuePreview:
        """What a due-date PATCH would move, and the rules it would break; nothing is written.

        The plan is built exactly as :meth:`update` builds it (the same refusals for a
        supplier, a missing reason code or a finished instance, and a stale version), but the
        date rules are listed rather than raised, and nothing is applied.
        """
        instance = self.tasks.get(instance_id)
        self.tasks.check_version(instance, expected_version)
        planned = self._unchecked_plan(instance, command, instance.status)
        if planned is None:
            return DuePreview(instance.id, {}, [])
        plan, context = planned
        return DuePreview(instance.id, moves_of(plan, ChangeSource.API), violations(plan, context))

    def _unchecked_plan(
        self, instance: TaskInstance, command: TaskInstanceUpdate, status_after: TaskStatus
    ) -> tuple[DatePlan, PlanningContext] | None:
        """The plan of the due-date change and its context, before the date rules."""
        if not command.model_fields_set & _DATE_FIELDS:
            return None
        unit = Unit.WORKING_DAYS if command.shift_working_days is not None else Unit.DAYS
        context = None
        if command.actual_due is not None:
            new_due = command.actual_due
        else:
            context = self.planning.context(instance.project_id, self.flow.today)
            amount = command.shift_working_days if unit is Unit.WORKING_DAYS else command.shift_days
            new_due = shift_date(instance.actual_due, amount or 0, unit, context.calendar)
        if new_due == instance.actual_due:
            return None  # unchanged dates are not re-checked
        self.tasks.check_date_mover()
        if command.reason_code is None:
            raise ReasonCodeRequired
        self.tasks.check_open(instance, status_after)
        if context is None:
            context = self.planning.context(instance.project_id, self.flow.today)
        instances = self.planning.instances(
            context,
            supplier_project_ids=[instance.supplier_project_id],
            include_removed=True,
            reopened=[instance.id],
        )
        plan = plan_instances(
            context,
            instances,
            {instance.id: new_due},
            cascade=command.cascade,
            unit=unit,
            reason=command.reason,
        )
        return plan, context
