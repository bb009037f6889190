"""Loads a project's planning context (once per operation) and the instances a plan moves.

Unscoped by design: the flow that asks has already found the project visible to its actor.
Instance rows are read with FOR UPDATE (PostgreSQL), so the dates a plan starts from stay
current until the transaction that applies it commits; on SQLite the write transaction holds
the only write lock already.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from supplytrack.calendars.models import ProjectCalendar, ProjectHoliday
from supplytrack.calendars.weekdays import MONDAY_TO_FRIDAY_MASK
from supplytrack.core.db import driver_rows, id_in
from supplytrack.planning.context import InstanceGraph, PlanningContext, ProjectWindow
from supplytrack.planning.workdays import calendar_of_mask
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import AssignmentStatus, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

T = TaskInstance


class PlanningRepository:
    """The reads of the date engine."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def context(self, project_id: int, today: date) -> PlanningContext:
        """The project's window, calendar, milestone graph and planned dates (four reads)."""
        connection = self.session.connection()
        window = connection.execute(
            select(Project.id, Project.start_date, Project.sop_date).where(Project.id == project_id)
        ).one()
        mask = connection.execute(
            select(ProjectCalendar.working_weekdays).where(ProjectCalendar.project_id == project_id)
        ).scalar()
        holidays: list[date] = []
        if mask is not None:
            holidays = list(
                connection.execute(
                    select(ProjectHoliday.day).where(ProjectHoliday.project_id == project_id)
                ).scalars()
            )
        dates = {
            row.id: row.canonical_due
            for row in connection.execute(
                select(TaskTemplate.id, TaskTemplate.canonical_due).where(
                    TaskTemplate.project_id == project_id
                )
            )
        }
        graph: dict[int, list[int]] = {template_id: [] for template_id in dates}
        for template_id, prerequisite in connection.execute(
            select(TaskTemplateDependency.template_id, TaskTemplateDependency.depends_on_id)
            .where(TaskTemplateDependency.project_id == project_id)
            .order_by(TaskTemplateDependency.template_id, TaskTemplateDependency.depends_on_id)
        ):
            graph.setdefault(template_id, []).append(prerequisite)
        return PlanningContext(
            project=ProjectWindow(window.id, window.start_date, window.sop_date),
            calendar=calendar_of_mask(
                MONDAY_TO_FRIDAY_MASK if mask is None else int(mask), holidays
            ),
            template_graph=graph,
            template_dates=dates,
            today=today,
        )

    def instances(
        self,
        context: PlanningContext,
        *,
        supplier_project_ids: Iterable[int] | None = None,
        template_ids: Iterable[int] | None = None,
        include_removed: bool = False,
        reopened: Iterable[int] = (),
    ) -> InstanceGraph:
        """Open instances of the project (of some assignments or milestones), locked.

        ``reopened`` are done instances that the same operation reopens: they count as open.
        """
        dialect = self.session.get_bind().dialect.name
        is_open: ColumnElement[bool] = T.status.not_in(sorted(DONE_STATUSES))
        extra = list(reopened)
        if extra:
            is_open = or_(is_open, id_in(T.id, extra, dialect))
        stmt = select(
            T.id, T.supplier_project_id, T.supplier_id, T.task_template_id, T.actual_due, T.status
        ).where(T.project_id == context.project.id, is_open)
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
        self.session.flush()
        connection = self.session.connection()
        rows = driver_rows(connection.execute(stmt.order_by(T.id).with_for_update()))
        if dialect == "sqlite":  # dates come as ISO text from the bare driver
            rows = [(*row[:4], date.fromisoformat(row[4]), row[5]) for row in rows]
        return InstanceGraph.of_rows(rows, context.template_graph)
