"""Reads the task pages need beyond the API's list: labels, other orders, exports, the portal.

Scoped like every read of instances (a supplier sees its own only). Each is one statement
for a whole page (never one per row); the export streams with a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select

from supplytrack.core.db import AnyRow, id_in
from supplytrack.core.pagination import Sort, apply_keyset
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier
from supplytrack.tasks.derived import overdue_condition
from supplytrack.tasks.enums import OPEN_STATUSES
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.reads import read_columns
from supplytrack.tasks.repository import TaskFilter, TaskRepository, conditions
from supplytrack.templates.models import TaskTemplate

T = TaskInstance
EXPORT_BATCH = 2000
EXPORT_COLUMNS = (
    "id",
    "project_code",
    "supplier_code",
    "supplier_name",
    "milestone",
    "status",
    "canonical_due",
    "actual_due",
    "overdue",
    "submitted_at",
    "completed_at",
)


def _overdue_first(today: date) -> Any:
    """0 for an overdue instance, 1 for any other: the portal's first sort key."""
    return case((overdue_condition(today), 0), else_=1)


class InstanceReads(TaskRepository):
    """The pages' reads of task instances."""

    def page_rows_by(
        self, where: TaskFilter, today: date, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page in any order of the instance's own columns (one more than ``limit``)."""
        stmt = self.visible(select(*read_columns()).where(*conditions(where, today)))
        stmt = apply_keyset(stmt, sort, cursor, limit)
        return self.core().execute(stmt, {"q_today": today}).all()

    def labels(self, ids: Sequence[int]) -> dict[int, AnyRow]:
        """Project, supplier and milestone of visible instances, by id (one query)."""
        if not ids:
            return {}
        stmt = self.visible(
            select(
                T.id,
                Project.code.label("project_code"),
                Project.name.label("project_name"),
                Supplier.code.label("supplier_code"),
                Supplier.name.label("supplier_name"),
                TaskTemplate.name.label("milestone"),
                TaskTemplate.canonical_due,
            )
            .join(Project, Project.id == T.project_id)
            .join(Supplier, Supplier.id == T.supplier_id)
            .join(TaskTemplate, TaskTemplate.id == T.task_template_id)
            .where(id_in(T.id, ids, self.dialect))
        )
        return {row.id: row for row in self.core().execute(stmt)}

    def export_rows(
        self, where: TaskFilter, today: date, sort: Sort | None, *, overdue_first: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every visible instance matching ``where``, typed, streamed in ``sort`` order."""
        stmt = self.visible(
            select(
                T.id,
                Project.code,
                Supplier.code,
                Supplier.name,
                TaskTemplate.name,
                T.status,
                TaskTemplate.canonical_due,
                T.actual_due,
                case((overdue_condition(today), 1), else_=0),
                T.submitted_at,
                T.completed_at,
            )
            .join(Project, Project.id == T.project_id)
            .join(Supplier, Supplier.id == T.supplier_id)
            .join(TaskTemplate, TaskTemplate.id == T.task_template_id)
            .where(*conditions(where, today))
        )
        order: list[Any] = [_overdue_first(today)] if overdue_first else []
        if sort is not None and not sort.same_as_id:
            order.append(sort.column.desc() if sort.descending else sort.column.asc())
        descending = sort is not None and sort.descending
        order.append(T.id.desc() if descending else T.id.asc())
        stmt = stmt.order_by(*order).execution_options(
            stream_results=True, max_row_buffer=EXPORT_BATCH
        )
        for row in self.session.connection().execute(stmt):
            item = dict(zip(EXPORT_COLUMNS, row, strict=True))
            item["overdue"] = bool(item["overdue"])
            yield item

    def open_page(
        self, where: TaskFilter, today: date, *, offset: int, limit: int
    ) -> Sequence[AnyRow]:
        """Visible instances matching ``where``: overdue first, then soonest due, then id.

        Paged by position (one more than ``limit``): a supplier's open work is a few hundred
        instances, where an offset costs nothing.
        """
        stmt = (
            self.visible(select(*read_columns()).where(*conditions(where, today)))
            .order_by(_overdue_first(today), T.actual_due, T.id)
            .offset(offset)
            .limit(limit + 1)
        )
        return self.core().execute(stmt, {"q_today": today}).all()

    def open_counts(self, today: date, soon_days: int) -> AnyRow:
        """(overdue, due_soon) of the visible open instances (due_soon: today..today+N)."""
        is_open = T.status.in_(sorted(OPEN_STATUSES))
        soon = and_(
            is_open,
            T.actual_due >= today,
            T.actual_due <= bindparam("q_soon", today + timedelta(days=soon_days)),
        )
        stmt = self.visible(
            select(
                func.coalesce(func.sum(case((overdue_condition(today), 1), else_=0)), 0).label(
                    "overdue"
                ),
                func.coalesce(func.sum(case((soon, 1), else_=0)), 0).label("due_soon"),
            ).where(is_open)
        )
        return self.core().execute(stmt).one()
