"""Every query of task instances, scoped to the actor (a supplier sees only its own)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    exists,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.db import AnyRow, AnySelect, chunks, id_in
from supplytrack.core.models import UTCDateTime
from supplytrack.core.pagination import Sort, apply_keyset
from supplytrack.core.repository import Repository
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import AssignmentStatus, SupplierCapability, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES, OPEN_STATUSES, OVERDUE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

T = TaskInstance
SORTABLE = {
    "id": T.id,
    "actualDue": T.actual_due,
    "status": T.status,
    "createdAt": T.created_at,
    "updatedAt": T.updated_at,
}
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


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """The filters of the instance list (SPEC section 3)."""

    project_id: int | None = None
    supplier_id: int | None = None
    supplier_project_id: int | None = None
    task_template_id: int | None = None
    statuses: tuple[TaskStatus, ...] = ()
    overdue: bool | None = None
    due_before: date | None = None
    due_after: date | None = None


def overdue_condition(today: date) -> ColumnElement[bool]:
    """Open in the supplier's hands and due before today (derived, never stored)."""
    return and_(T.status.in_(sorted(OVERDUE_STATUSES)), T.actual_due < today)


def at_risk_condition() -> ColumnElement[bool]:
    """Open and due after the project's start of production (derived, never stored)."""
    sop = select(Project.sop_date).where(Project.id == T.project_id).scalar_subquery()
    return and_(T.status.in_(sorted(OPEN_STATUSES)), T.actual_due > sop)


def _read_columns(today: date) -> tuple[Any, ...]:
    return (
        T.id,
        T.supplier_project_id,
        T.project_id,
        T.supplier_id,
        T.task_template_id,
        T.status,
        T.actual_due,
        case((overdue_condition(today), True), else_=False).label("overdue"),
        case((at_risk_condition(), True), else_=False).label("at_risk"),
        T.submitted_at,
        T.completed_at,
        T.notes,
        T.created_at,
        T.updated_at,
        T.version,
    )


class TaskRepository(Repository):
    """Task instances, always narrowed to what the actor may see."""

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of instances to the actor's scope."""
        if self.actor.is_supplier:
            stmt = stmt.where(T.supplier_id == self.actor.supplier_id)
        return stmt

    def get(self, instance_id: int, *, for_update: bool = False) -> TaskInstance | None:
        """One visible instance as an ORM object (to change it)."""
        stmt = self.visible(select(T).where(T.id == instance_id))
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def read(self, instance_id: int, today: date) -> AnyRow | None:
        """One visible instance as a read row (with ``overdue``)."""
        stmt = self.visible(select(*_read_columns(today)).where(T.id == instance_id))
        return self.session.execute(stmt).first()

    def page(
        self, where: TaskFilter, today: date, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of visible instances matching the filter (one more than ``limit``)."""
        stmt = self.visible(select(*_read_columns(today)))
        stmt = stmt.where(*self._conditions(where, today))
        return self.session.execute(apply_keyset(stmt, sort, cursor, limit)).all()

    @staticmethod
    def _conditions(where: TaskFilter, today: date) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        for column, value in (
            (T.project_id, where.project_id),
            (T.supplier_id, where.supplier_id),
            (T.supplier_project_id, where.supplier_project_id),
            (T.task_template_id, where.task_template_id),
        ):
            if value is not None:
                conditions.append(column == value)
        if where.statuses:
            conditions.append(T.status.in_(where.statuses))
        if where.overdue is not None:
            overdue = overdue_condition(today)
            conditions.append(overdue if where.overdue else not_(overdue))
        if where.due_before is not None:
            conditions.append(T.actual_due < where.due_before)
        if where.due_after is not None:
            conditions.append(T.actual_due > where.due_after)
        return conditions

    def add(self, instance: TaskInstance) -> TaskInstance:
        """Insert one instance."""
        self.session.add(instance)
        self.session.flush()
        return instance

    def exists_for(self, supplier_project_id: int, task_template_id: int) -> bool:
        """Whether the assignment already has an instance of the template."""
        stmt = select(
            exists().where(
                T.supplier_project_id == supplier_project_id, T.task_template_id == task_template_id
            )
        )
        return bool(self.session.scalar(stmt))

    def has_history(self, instance_id: int) -> bool:
        """Whether the instance has any audit row."""
        stmt = select(exists().where(TaskInstanceHistory.task_instance_id == instance_id))
        return bool(self.session.scalar(stmt))

    def delete(self, instance: TaskInstance) -> None:
        """Delete one untouched instance."""
        self.session.delete(instance)
        self.session.flush()

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
            T.id, T.supplier_project_id, T.task_template_id, T.actual_due, T.status
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
        return self.session.execute(stmt.order_by(T.id).with_for_update()).all()

    def set_due_dates(self, new_dates: Mapping[int, date], now: datetime) -> None:
        """Set many due dates: one UPDATE per (new date, chunk of sorted ids)."""
        dialect = self.session.get_bind().dialect.name
        by_date: dict[date, list[int]] = {}
        for instance_id, day in new_dates.items():
            by_date.setdefault(day, []).append(instance_id)
        for day, ids in sorted(by_date.items()):
            for chunk in chunks(ids):
                self.session.execute(
                    update(T)
                    .where(id_in(T.id, chunk, dialect))
                    .values(actual_due=day, version=T.version + 1, updated_at=now),
                    execution_options={"synchronize_session": False},
                )

    def prerequisite_instances(self, instance: TaskInstance) -> Sequence[AnyRow]:
        """(id, task_template_id, status) of the instance's prerequisites for its supplier."""
        stmt = (
            select(T.id, T.task_template_id, T.status)
            .join(
                TaskTemplateDependency, TaskTemplateDependency.depends_on_id == T.task_template_id
            )
            .where(
                TaskTemplateDependency.template_id == instance.task_template_id,
                T.supplier_project_id == instance.supplier_project_id,
            )
            .order_by(T.id)
        )
        return self.session.execute(stmt).all()

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
