"""The rules of task instances: reads, the status machine and its prerequisite gate, writes.

A leaf of the domain layer: it reads and writes only task instances (and their audit rows).
What needs other domains (assignments, milestones, the date engine) is put together by the
flows, which hand this service the plain values it needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource, HistoryField, TaskInstanceHistory
from supplytrack.audit.service import AuditService, Change, HistoryFilter, Why, record_of
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import BusinessRuleError, NotFound, SupplyTrackError
from supplytrack.core.http import check_version
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort
from supplytrack.core.time import utcnow
from supplytrack.suppliers.models import AssignmentStatus, SupplierProject
from supplytrack.tasks.as_of import AsOfRepository, shape
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.exceptions import (
    AssignmentRemoved,
    CapabilityMissing,
    InstanceCompleted,
    InstanceExists,
    InstanceHasHistory,
    PrerequisitesOpen,
    SupplierFieldForbidden,
    TemplateOfOtherProject,
)
from supplytrack.tasks.instance_reads import InstanceReads
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import OwnedBy, TaskFilter
from supplytrack.tasks.sets import InstanceSets, ShiftScope
from supplytrack.tasks.state_machine import (
    GATED_TARGETS,
    RULES,
    Mover,
    StatusColumns,
    allowed_targets,
    status_columns,
    transition,
)
from supplytrack.templates.models import TaskTemplate


class InstanceState(Protocol):
    """What a change of an instance is computed from: a held instance, or a read row of one."""

    @property
    def id(self) -> int:
        """The instance's id."""

    @property
    def status(self) -> TaskStatus:
        """The instance's status."""

    @property
    def actual_due(self) -> date:
        """The instance's actual due."""

    @property
    def submitted_at(self) -> datetime | None:
        """The instance's submitted at."""

    @property
    def completed_at(self) -> datetime | None:
        """The instance's completed at."""

    @property
    def notes(self) -> str | None:
        """The instance's notes."""

    @property
    def version(self) -> int:
        """The instance's version."""


@dataclass(slots=True)
class Evaluation:
    """Which instances may move, which may not (and why), which are there already."""

    accepted: list[AnyRow] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    def refuse(self, instance_id: int, code: str, message: str) -> None:
        """Record one refusal."""
        self.refused.append({"taskInstanceId": instance_id, "code": code, "message": message})


def check_as_of(day: date, today: date) -> None:
    """AsOf looks back, never ahead."""
    if day > today:
        raise BusinessRuleError(
            "asOf must be today or a past day",
            code="AS_OF_IN_FUTURE",
            details=[{"field": "asOf"}],
        )


class TaskService:
    """Read, move and write task instances; every change is audited in the same transaction."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.tasks = InstanceSets(session, actor)
        self.audit = AuditService(session, actor)

    @property
    def mover(self) -> Mover:
        """Which side of the status machine the actor is on."""
        return Mover.SUPPLIER if self.actor.is_supplier else Mover.MANAGER

    # Reads ------------------------------------------------------------------------------

    def get(self, instance_id: int, *, for_update: bool = False) -> TaskInstance:
        """A visible instance (404 otherwise, missing and not-yours alike)."""
        instance = self.tasks.get(instance_id, for_update=for_update)
        if instance is None:
            raise NotFound("task instance", instance_id)
        return instance

    def read(self, instance_id: int, today: date) -> AnyRow:
        """A visible instance as a read row, with ``overdue`` and ``atRisk``."""
        row = self.tasks.read(instance_id, today)
        if row is None:
            raise NotFound("task instance", instance_id)
        return row

    def page(
        self, where: TaskFilter, today: date, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of visible instances (one more than ``limit``)."""
        return self.tasks.page_rows(where, today, sort=sort, cursor=cursor, limit=limit)

    def read_as_of(self, instance_id: int, day: date, today: date, zone: str) -> dict[str, Any]:
        """A visible instance as it stood at the end of ``day`` (404 if not created yet)."""
        check_as_of(day, today)
        row = AsOfRepository(self.session, self.actor, zone).one(instance_id, day)
        if row is None:
            raise NotFound("task instance", instance_id)
        return row

    def page_as_of(
        self,
        where: TaskFilter,
        day: date,
        today: date,
        zone: str,
        *,
        cursor: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """A page of visible instances as they stood at the end of ``day`` (by id)."""
        check_as_of(day, today)
        repository = AsOfRepository(self.session, self.actor, zone)
        rows = repository.page(where, day, cursor=cursor, limit=limit)
        return [shape(row, day, repository.end_of_day(day)) for row in rows]

    def history(
        self, instance_id: int, where: HistoryFilter, *, before_id: int | None, limit: int
    ) -> Sequence[TaskInstanceHistory]:
        """The audit trail of a visible instance, newest first."""
        self.get(instance_id)
        return self.audit.page(instance_id, where, before_id=before_id, limit=limit)

    def work_recorded(self, owner: OwnedBy) -> bool:
        """Whether work was recorded on a project, supplier or milestone (it cannot be deleted)."""
        return self.tasks.work_recorded(owner)

    def any_of_template(self, template_id: int) -> bool:
        """Whether the milestone was fanned out to anyone."""
        return self.tasks.any_of_template(template_id)

    # Creating instances -----------------------------------------------------------------

    def fan_out_assignment(self, assignment: SupplierProject) -> int:
        """Create the assignment's missing instances (one statement); returns how many."""
        return self.tasks.fan_out_assignment(assignment, utcnow())

    def fan_out_template(self, template: TaskTemplate) -> int:
        """Create the template's instances for active, capable assignments (one statement)."""
        return self.tasks.fan_out_template(template, utcnow())

    def of(
        self, supplier_project_id: int, task_template_id: int, *, for_update: bool = False
    ) -> TaskInstance | None:
        """The visible instance of an assignment's milestone, if any."""
        return self.tasks.of(supplier_project_id, task_template_id, for_update=for_update)

    def new_instance(self, assignment: SupplierProject, template: TaskTemplate) -> TaskInstance:
        """An instance of the milestone for the assignment, on its planned date (not flushed)."""
        instance = TaskInstance(
            supplier_project_id=assignment.id,
            project_id=assignment.project_id,
            supplier_id=assignment.supplier_id,
            task_template_id=template.id,
            actual_due=template.canonical_due,
            status=TaskStatus.NOT_STARTED,
        )
        self.session.add(instance)
        return instance

    def create(
        self, assignment: SupplierProject, template: TaskTemplate, capabilities: Sequence[str]
    ) -> TaskInstance:
        """Create one instance by hand, with the checks fan-out makes implicitly."""
        if template.project_id != assignment.project_id:
            raise TemplateOfOtherProject
        if assignment.status != AssignmentStatus.ACTIVE:
            raise AssignmentRemoved(assignment.id)
        capability = template.required_capability
        if capability is not None and capability not in capabilities:
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
        self.audit.created(AuditEntity.INSTANCE, instance.id, record_of(instance))
        return instance

    # One instance: status, due date, notes (the ORM path) ---------------------------------

    def status_move(
        self, instance: TaskInstance, target: TaskStatus, reason: str | None
    ) -> StatusColumns:
        """Check one move through the machine and the prerequisite gate; the columns it writes."""
        move = transition(instance.status, target, self.mover, reason)
        if move.needs_prerequisites_done:
            blocked = self.open_prerequisites([instance.id])
            if blocked:
                raise PrerequisitesOpen(
                    [
                        {
                            "taskInstanceId": r.id,
                            "taskTemplateId": r.task_template_id,
                            "status": r.status,
                        }
                        for r in blocked[instance.id]
                    ]
                )
        return move.columns

    def ungated_move(
        self, instance: InstanceState, target: TaskStatus, reason: str | None
    ) -> StatusColumns | None:
        """A move checked through the machine alone; None when it needs the prerequisite gate."""
        move = transition(instance.status, target, self.mover, reason)
        return None if move.needs_prerequisites_done else move.columns

    def check_date_mover(self) -> None:
        """Due dates are the manufacturer's: a supplier may not move them (403)."""
        if self.actor.is_supplier:
            raise SupplierFieldForbidden

    @staticmethod
    def check_open(instance: TaskInstance, status_after: TaskStatus) -> None:
        """An APPROVED or WAIVED instance keeps its due date (reopen it first)."""
        if status_after in DONE_STATUSES:
            raise InstanceCompleted(instance.id, status_after)

    @staticmethod
    def changed_values(
        instance: InstanceState,
        *,
        status: StatusColumns | None = None,
        actual_due: date | None = None,
        notes: tuple[str | None] | None = None,
    ) -> tuple[dict[str, Any], list[Change]]:
        """The columns a change of one instance writes, and the changes to audit."""
        values: dict[str, Any] = {}
        changes: list[Change] = []
        now = utcnow()
        if status is not None and status.status != instance.status:
            changes.append(Change(instance.id, HistoryField.STATUS, instance.status, status.status))
            values["submitted_at"] = status.submitted_at.value_after(instance.submitted_at, now)
            values["completed_at"] = status.completed_at.value_after(instance.completed_at, now)
            values["status"] = status.status
        if actual_due is not None and actual_due != instance.actual_due:
            changes.append(
                Change(instance.id, HistoryField.ACTUAL_DUE, instance.actual_due, actual_due)
            )
            values["actual_due"] = actual_due
        if notes is not None and notes[0] != instance.notes:
            changes.append(Change(instance.id, HistoryField.NOTES, instance.notes, notes[0]))
            values["notes"] = notes[0]
        return values, changes

    def write(
        self,
        instance: TaskInstance,
        *,
        status: StatusColumns | None = None,
        actual_due: date | None = None,
        notes: tuple[str | None] | None = None,
    ) -> list[Change]:
        """Set a held instance's new values (one UPDATE at flush); the changes to audit."""
        values, changes = self.changed_values(
            instance, status=status, actual_due=actual_due, notes=notes
        )
        for name, value in values.items():
            setattr(instance, name, value)
        return changes

    def write_if_unchanged(
        self,
        instance: InstanceState,
        *,
        status: StatusColumns | None = None,
        notes: tuple[str | None] | None = None,
    ) -> list[Change] | None:
        """Write a change of an instance read earlier, unless it changed since (then None).

        One ``UPDATE ... WHERE version = <the version read>``: the check ran on a copy read
        outside the write transaction, and this is where it proves still true.
        """
        values, changes = self.changed_values(instance, status=status, notes=notes)
        if values and not self.tasks.update_versioned(
            instance.id, instance.version, values, utcnow()
        ):
            return None
        return changes

    @staticmethod
    def check_version(instance: InstanceState, expected_version: int | None) -> None:
        """412 when If-Match no longer names the instance's version."""
        check_version(instance.version, expected_version, f"task instance {instance.id}")

    def delete(self, instance_id: int, expected_version: int | None) -> None:
        """Delete an instance that was never touched (409 otherwise: waive it)."""
        instance = self.get(instance_id, for_update=True)
        check_version(instance.version, expected_version, f"task instance {instance_id}")
        if instance.status != TaskStatus.NOT_STARTED or self.tasks.has_history(instance_id):
            raise InstanceHasHistory(instance_id)
        self.audit.deleted(AuditEntity.INSTANCE, instance.id, record_of(instance))
        self.tasks.delete(instance)

    def delete_untouched(self, owner: OwnedBy) -> None:
        """Delete the untouched instances of what is being deleted (the caller checked)."""
        self.tasks.delete_untouched(owner)

    # Many instances (the set-based path) ------------------------------------------------

    def move_dates(
        self,
        moves: Mapping[int, tuple[date, date, ChangeSource]],
        *,
        source: ChangeSource,
        why: Why,
        extra: Sequence[Change] = (),
    ) -> int:
        """Write many due dates set-based, with their history rows set-based too.

        ``moves`` is {instance id: (old, new, source)}; ``extra`` are the changes of an
        instance the caller writes itself (the PATCHed one), audited first. Each group of
        moves is one INSERT ... SELECT of its history (the old dates read by the database,
        not sent back to it) and one UPDATE: 80,000 cascaded moves are a few dozen statements.
        """
        now = utcnow()
        if extra:
            self.audit.record(extra, source=source, why=why, changed_at=now)
        for group in self.tasks.date_moves(moves):
            self.audit.record_from(group.changes(), source=group.tag, why=why, changed_at=now)
            group.apply(now)
        return len(moves)

    def open_prerequisites(
        self, ids: Sequence[int], done_with: frozenset[int] = frozenset()
    ) -> dict[int, list[_Prerequisite]]:
        """The prerequisite gate: for each of ``ids``, its prerequisites not APPROVED or WAIVED.

        ``done_with`` are instances this very operation completes: they count as done.
        """
        blocked: dict[int, list[_Prerequisite]] = {}
        for row in self.tasks.unfinished_prerequisites(ids):
            if row[1] not in done_with:
                blocked.setdefault(row[0], []).append(_Prerequisite(*row[1:]))
        return blocked

    def status_rows(
        self,
        *,
        ids: Sequence[int] | None = None,
        where: TaskFilter | None = None,
        today: date | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> Sequence[AnyRow]:
        """Visible (id, status, supplier_project_id, task_template_id) by ids or filter, locked."""
        return self.tasks.status_rows(
            ids=ids, where=where, today=today, after_id=after_id, limit=limit
        )

    def evaluate(
        self, rows: Sequence[AnyRow], target: TaskStatus, reason: str | None
    ) -> Evaluation:
        """Run each row through the status machine, then the gate, as a single PATCH would."""
        result = Evaluation()
        for row in rows:
            if row.status == target:
                result.unchanged += 1
                continue
            try:
                transition(row.status, target, self.mover, reason)
            except SupplyTrackError as error:
                result.refuse(row.id, error.code, error.message)
                continue
            result.accepted.append(row)
        if target in GATED_TARGETS and result.accepted:
            # Prerequisites approved by this very operation count as done.
            batch = (
                frozenset(row.id for row in result.accepted)
                if target in DONE_STATUSES
                else frozenset()
            )
            blocked = self.open_prerequisites([row.id for row in result.accepted], batch)
            kept = []
            for row in result.accepted:
                if row.id in blocked:
                    open_ids = ", ".join(str(p.id) for p in blocked[row.id])
                    result.refuse(
                        row.id,
                        "PREREQUISITES_OPEN",
                        f"prerequisites {open_ids} are not APPROVED or WAIVED",
                    )
                else:
                    kept.append(row)
            result.accepted = kept
        return result

    def set_statuses(
        self,
        moves: Sequence[tuple[int, TaskStatus, TaskStatus]],
        *,
        source: ChangeSource,
        why: Why,
    ) -> int:
        """Write many status moves (id, from, to) set-based, with one history row each.

        The columns are the status machine's for each (from, to): moves are grouped by them,
        one UPDATE per group and id chunk. Callers have checked the moves (or are reverting
        moves that were checked).
        """
        if not moves:
            return 0
        now = utcnow()
        groups: dict[StatusColumns, list[int]] = {}
        for instance_id, old, new in moves:
            groups.setdefault(status_columns(old, new), []).append(instance_id)
        for columns, ids in groups.items():
            self.tasks.set_status(ids, columns, now)
        self.audit.record(
            [Change(i, HistoryField.STATUS, old, new) for i, old, new in moves],
            source=source,
            why=why,
        )
        return len(moves)

    def open_needing(self, supplier_id: int, capabilities: Sequence[str]) -> Sequence[AnyRow]:
        """(id, status) of the supplier's open instances whose milestone needs a capability."""
        return self.tasks.open_needing(supplier_id, capabilities)

    # The uniform shift (whole assignments by N calendar days, in SQL) ------------------

    def shift_scope(
        self,
        project_id: int,
        days: int,
        *,
        supplier_ids: Sequence[int] = (),
        supplier_project_ids: Sequence[int] | None = None,
    ) -> ShiftScope:
        """The open instances of a project's active assignments, to shift by ``days``."""
        return ShiftScope(
            self.tasks,
            project_id,
            days,
            supplier_ids=supplier_ids,
            supplier_project_ids=supplier_project_ids,
        )

    def shift(self, scope: ShiftScope, *, why: Why) -> int:
        """Shift every instance in scope and write their BULK history: two statements."""
        moved = scope.shift(utcnow())
        self.audit.record_from(scope.changes(), source=ChangeSource.BULK, why=why)
        return moved

    # Reads of the pages (web/pages/tasks.py, portal.py) ---------------------------------

    @staticmethod
    def filter_of(
        *,
        project_id: int | None = None,
        supplier_id: int | None = None,
        statuses: Sequence[TaskStatus] = (),
        overdue: bool | None = None,
        due_before: date | None = None,
        due_after: date | None = None,
    ) -> TaskFilter:
        """The list filter of these values, as api/params.task_filter builds it from a query."""
        return TaskFilter(
            project_id=project_id,
            supplier_id=supplier_id,
            statuses=tuple(sorted(set(statuses))),
            overdue=overdue,
            due_before=due_before,
            due_after=due_after,
        )

    def page_by(
        self, where: TaskFilter, today: date, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of visible instances in any order of their own columns (e.g. by supplier)."""
        return InstanceReads(self.session, self.actor).page_rows_by(
            where, today, sort=sort, cursor=cursor, limit=limit
        )

    def labels(self, ids: Sequence[int]) -> dict[int, AnyRow]:
        """Project, supplier and milestone codes and names of visible instances (one query)."""
        return InstanceReads(self.session, self.actor).labels(ids)

    def export_rows(
        self, where: TaskFilter, today: date, sort: Sort | None, *, overdue_first: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every visible instance matching ``where``, streamed in the list's order."""
        return InstanceReads(self.session, self.actor).export_rows(
            where, today, sort, overdue_first=overdue_first
        )

    def open_page(
        self, where: TaskFilter, today: date, *, offset: int, limit: int
    ) -> Sequence[AnyRow]:
        """Visible instances, overdue first, then soonest due (one more than ``limit``)."""
        return InstanceReads(self.session, self.actor).open_page(
            where, today, offset=offset, limit=limit
        )

    def open_counts(self, today: date, soon_days: int) -> AnyRow:
        """How many visible open instances are overdue, and due within ``soon_days``."""
        return InstanceReads(self.session, self.actor).open_counts(today, soon_days)

    def offered_moves(self, rows: Sequence[InstanceState]) -> dict[int, Offers]:
        """The status moves this actor may make on each instance, the prerequisite gate applied.

        The machine's rules for the actor's side from each current status; a move into a
        gated status is held back while a prerequisite is open (one query for all rows).
        """
        targets = {row.id: allowed_targets(row.status, self.mover) for row in rows}
        gated = [i for i, found in targets.items() if set(found) & GATED_TARGETS]
        blocked = self.open_prerequisites(gated) if gated else {}
        offers: dict[int, Offers] = {}
        for row in rows:
            waiting = blocked.get(row.id, [])
            moves = [
                OfferedMove(target, _needs_reason(row.status, target))
                for target in targets[row.id]
                if not (waiting and target in GATED_TARGETS)
            ]
            held = [t for t in targets[row.id] if waiting and t in GATED_TARGETS]
            offers[row.id] = Offers(moves, held, [p.id for p in waiting])
        return offers


def _needs_reason(source: TaskStatus, target: TaskStatus) -> bool:
    """Whether the machine's rule for this move asks for a reason."""
    return any(r.needs_reason for r in RULES if source in r.sources and r.target == target)


@dataclass(frozen=True, slots=True)
class OfferedMove:
    """A status move offered to the actor, and whether it needs a reason."""

    target: TaskStatus
    needs_reason: bool


@dataclass(frozen=True, slots=True)
class Offers:
    """The moves offered on one instance, those held back by the gate, and why."""

    moves: list[OfferedMove]
    held: list[TaskStatus]  # gated targets the machine allows, waiting on prerequisites
    open_prerequisites: list[int]  # ids of the prerequisite instances not done yet


@dataclass(frozen=True, slots=True)
class _Prerequisite:
    """A prerequisite instance that is not done yet."""

    id: int
    task_template_id: int
    status: TaskStatus
