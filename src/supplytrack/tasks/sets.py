"""Set-based writes of task instances: fan-out, date moves, bulk statuses (never row by row)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    String,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from supplytrack.core.db import AnyRow, add_days, chunks, id_in
from supplytrack.core.models import UTCDateTime
from supplytrack.suppliers.models import AssignmentStatus, SupplierCapability, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES, OPEN_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import TaskFilter, TaskRepository
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

T = TaskInstance
_INSERTED = [
    "supplier_project_id",
    "project_id",
    "supplier_id",
    "task_template_id",
    "status",
    "actual_due",
    "version",
    "created_at",
    "updated_at",
]


class InstanceSets(TaskRepository):
    """Task instances changed many at a time: one statement per chunk of sorted ids."""

    def fan_out_assignment(self, assignment: SupplierProject, now: datetime) -> int:
        """One INSERT ... SELECT: an instance of every applicable template not yet given."""
        capable = or_(
            TaskTemplate.required_capability.is_(None),
            TaskTemplate.required_capability.in_(
                select(SupplierCapability.capability).where(
                    SupplierCapability.supplier_id == assignment.supplier_id
                )
            ),
        )
        missing = ~exists().where(
            T.supplier_project_id == assignment.id, T.task_template_id == TaskTemplate.id
        )
        rows = select(
            literal(assignment.id, Integer),
            literal(assignment.project_id, Integer),
            literal(assignment.supplier_id, Integer),
            TaskTemplate.id,
            literal(TaskStatus.NOT_STARTED.value, String),
            TaskTemplate.canonical_due,
            literal(1, Integer),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        ).where(TaskTemplate.project_id == assignment.project_id, capable, missing)
        result = self.session.connection().execute(
            insert(T).from_select(_INSERTED, rows), execution_options={"preserve_rowcount": True}
        )
        return int(result.rowcount)

    def fan_out_template(self, template: TaskTemplate, now: datetime) -> int:
        """One INSERT ... SELECT: an instance for every active, capable assignment."""
        rows = select(
            SupplierProject.id,
            SupplierProject.project_id,
            SupplierProject.supplier_id,
            literal(template.id, Integer),
            literal(TaskStatus.NOT_STARTED.value, String),
            literal(template.canonical_due),
            literal(1, Integer),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        ).where(
            SupplierProject.project_id == template.project_id,
            SupplierProject.status == AssignmentStatus.ACTIVE,
        )
        if template.required_capability is not None:
            rows = rows.where(
                exists().where(
                    SupplierCapability.supplier_id == SupplierProject.supplier_id,
                    SupplierCapability.capability == template.required_capability,
                )
            )
        result = self.session.connection().execute(
            insert(T).from_select(_INSERTED, rows), execution_options={"preserve_rowcount": True}
        )
        return int(result.rowcount)

    def schedule_rows(
        self,
        project_id: int,
        *,
        supplier_project_ids: Iterable[int] | None = None,
        template_ids: Iterable[int] | None = None,
        include_removed: bool = False,
    ) -> Sequence[AnyRow]:
        """Open instances of a project, locked for the date change that reads them.

        Rows are (id, supplier_project_id, task_template_id, actual_due, status); APPROVED and
        WAIVED instances are history and are neither moved nor in the way.
        """
        dialect = self.session.get_bind().dialect.name
        stmt = select(
            T.id, T.supplier_project_id, T.task_template_id, T.actual_due, T.status, T.supplier_id
        ).where(T.project_id == project_id, T.status.not_in(sorted(DONE_STATUSES)))
        if not include_removed:
            stmt = stmt.where(
                exists().where(
                    SupplierProject.id == T.supplier_project_id,
                    SupplierProject.status == AssignmentStatus.ACTIVE,
                )
            )
        if supplier_project_ids is not None:
            stmt = stmt.where(id_in(T.supplier_project_id, list(supplier_project_ids), dialect))
        if template_ids is not None:
            stmt = stmt.where(id_in(T.task_template_id, list(template_ids), dialect))
        return self.core().execute(stmt.order_by(T.id).with_for_update()).all()

    def set_due_dates(self, moves: Mapping[int, tuple[date, date]], now: datetime) -> None:
        """Move many due dates ({id: (old, new)}) set-based, in as few statements as possible.

        A uniform shift is one ``actual_due = actual_due + n`` UPDATE per id chunk; moves to
        scattered dates (working days) are one UPDATE per new date and chunk. The caller holds
        the rows (read in this transaction, locked on PostgreSQL), so ``old`` is current.
        """
        dialect = self.session.get_bind().dialect.name
        by_delta: dict[int, list[int]] = {}
        by_date: dict[date, list[int]] = {}
        for instance_id, (old, new) in moves.items():
            by_delta.setdefault((new - old).days, []).append(instance_id)
            by_date.setdefault(new, []).append(instance_id)
        if len(by_delta) <= len(by_date):
            groups = [
                (add_days(T.actual_due, delta, dialect), ids)
                for delta, ids in sorted(by_delta.items())
            ]
        else:
            groups = [(literal(day, Date), ids) for day, ids in sorted(by_date.items())]
        for value, ids in groups:
            for chunk in chunks(ids):
                self.session.execute(
                    update(T)
                    .where(id_in(T.id, chunk, dialect))
                    .values(actual_due=value, version=T.version + 1, updated_at=now),
                    execution_options={"synchronize_session": False},
                )

    def open_needing(self, supplier_id: int, capabilities: Sequence[str]) -> Sequence[AnyRow]:
        """(id, status) of the supplier's open instances whose milestone needs a capability."""
        stmt = (
            select(T.id, T.status)
            .join(TaskTemplate, TaskTemplate.id == T.task_template_id)
            .where(
                T.supplier_id == supplier_id,
                T.status.in_(sorted(OPEN_STATUSES)),
                TaskTemplate.required_capability.in_(list(capabilities)),
            )
            .order_by(T.id)
            .with_for_update(of=T)
        )
        return self.session.execute(stmt).all()

    def set_done(self, ids: Sequence[int], status: TaskStatus, now: datetime) -> None:
        """Close many instances (WAIVED or APPROVED) set-based, in sorted id chunks."""
        dialect = self.session.get_bind().dialect.name
        for chunk in chunks(ids):
            self.session.execute(
                update(T)
                .where(id_in(T.id, chunk, dialect))
                .values(status=status, completed_at=now, version=T.version + 1, updated_at=now),
                execution_options={"synchronize_session": False},
            )

    def status_rows(
        self,
        *,
        ids: Sequence[int] | None = None,
        where: TaskFilter | None = None,
        today: date | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> Sequence[AnyRow]:
        """(id, status, supplier_project_id, task_template_id) by ids or filter, by id.

        Locked for the bulk change that reads them (PostgreSQL).
        """
        dialect = self.session.get_bind().dialect.name
        stmt = self.visible(select(T.id, T.status, T.supplier_project_id, T.task_template_id))
        if ids is not None:
            stmt = stmt.where(id_in(T.id, ids, dialect))
        if where is not None:
            stmt = stmt.where(*self._conditions(where, today or date.min))
        if after_id is not None:
            stmt = stmt.where(T.id > after_id)
        stmt = stmt.order_by(T.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return self.core().execute(stmt.with_for_update()).all()

    def unfinished_prerequisites(self, ids: Sequence[int]) -> Sequence[AnyRow]:
        """(dependent_id, prerequisite_id, prerequisite_status) of prerequisites not done yet."""
        dialect = self.session.get_bind().dialect.name
        P = aliased(TaskInstance)  # noqa: N806 - the prerequisite instance
        stmt = (
            select(T.id, P.id, P.status)
            .join(TaskTemplateDependency, TaskTemplateDependency.template_id == T.task_template_id)
            .join(
                P,
                (P.task_template_id == TaskTemplateDependency.depends_on_id)
                & (P.supplier_project_id == T.supplier_project_id),
            )
            .where(id_in(T.id, ids, dialect), P.status.not_in(sorted(DONE_STATUSES)))
            .order_by(T.id, P.id)
        )
        return self.session.execute(stmt).all()

    def set_status(
        self, ids: Sequence[int], target: TaskStatus, now: datetime, *, source_done: bool
    ) -> None:
        """Move many instances to ``target`` set-based, with the machine's timestamps."""
        dialect = self.session.get_bind().dialect.name
        values: dict[str, Any] = {"status": target, "version": T.version + 1, "updated_at": now}
        if target == TaskStatus.SUBMITTED:
            values["submitted_at"] = func.coalesce(T.submitted_at, literal(now, UTCDateTime()))
        if target in DONE_STATUSES:
            values["completed_at"] = now
        elif source_done:
            values["completed_at"] = None
        for chunk in chunks(ids):
            self.session.execute(
                update(T).where(id_in(T.id, chunk, dialect)).values(**values),
                execution_options={"synchronize_session": False},
            )
