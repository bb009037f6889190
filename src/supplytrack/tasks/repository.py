"""Every query of task instances, scoped to the actor (a supplier sees only its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal_column,
    not_,
    select,
)

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.db import AnyRow, AnySelect
from supplytrack.core.pagination import Sort, apply_keyset
from supplytrack.core.repository import Repository
from supplytrack.projects.models import Project
from supplytrack.tasks.enums import OPEN_STATUSES, OVERDUE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplateDependency

T = TaskInstance
SORTABLE = {
    "id": T.id,
    "actualDue": T.actual_due,
    "status": T.status,
    "createdAt": T.created_at,
    "updatedAt": T.updated_at,
}


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


@lru_cache(maxsize=4)
def _read_columns(today: date) -> tuple[Any, ...]:
    # Built once a day: every list and read of instances selects these (building the
    # expressions anew cost about a tenth of a list request).
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
        return self.core().execute(stmt).first()

    def page(
        self, where: TaskFilter, today: date, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of visible instances matching the filter (one more than ``limit``)."""
        stmt = self.visible(select(*_read_columns(today)))
        stmt = stmt.where(*self._conditions(where, today))
        if where.overdue and self.session.get_bind().dialect.name == "sqlite":
            # SQLite would walk the whole table in id order hoping to fill the page soon;
            # overdue rows are few: say so, and it looks them up by due date instead.
            stmt = stmt.where(func.likelihood(T.actual_due < today, literal_column("0.01")))
        return self.core().execute(apply_keyset(stmt, sort, cursor, limit)).all()

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
