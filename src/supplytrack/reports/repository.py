"""The report queries: SQL aggregates only (Python sees one row per supplier or project)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, and_, case, func, literal, over, select, text
from sqlalchemy.orm import Session

from supplytrack.audit.models import REJECTED_PREDICATE, TaskInstanceHistory
from supplytrack.core.db import AnyRow
from supplytrack.core.identity import Actor
from supplytrack.projects.models import Project
from supplytrack.projects.scope import visible_projects
from supplytrack.reports.dialect import (
    day_literal,
    days_between,
    group_key,
    local_date,
    period_start,
)
from supplytrack.suppliers.models import AssignmentStatus, Supplier, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES, OPEN_STATUSES, OVERDUE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.scope import visible_instances
from supplytrack.templates.models import TaskTemplate

T = TaskInstance
H = TaskInstanceHistory
SP = SupplierProject


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _one(condition: Any) -> Any:
    """1 when the condition holds, else 0 (a count's term: _count is its sum)."""
    return case((condition, 1), else_=0)


@dataclass(frozen=True, slots=True)
class Window:
    """Instances due from..to (inclusive), optionally of one project and/or supplier."""

    start: date
    end: date
    project_id: int | None = None
    supplier_id: int | None = None


class ReportRepository:
    """Report queries, narrowed to the actor's own supplier for supplier tokens."""

    def __init__(self, session: Session, actor: Actor, zone: str, today: date) -> None:
        self.session = session
        self.actor = actor
        self.zone = zone
        self.today = today
        self.dialect = session.get_bind().dialect.name

    def _execute(self, stmt: Any) -> Sequence[AnyRow]:
        return self.session.connection().execute(stmt).all()

    def _scope(self, project_id: int | None, supplier_id: int | None) -> list[Any]:
        conditions = []
        if project_id is not None:
            conditions.append(T.project_id == project_id)
        if supplier_id is not None:
            conditions.append(T.supplier_id == supplier_id)
        if self.actor.is_supplier:
            conditions.append(visible_instances(self.actor))
        return conditions

    # What the reports name: projects, suppliers, milestones (in the actor's scope) -------

    def project(self, project_id: int) -> Project | None:
        """One visible project."""
        stmt = select(Project).where(Project.id == project_id, visible_projects(self.actor))
        return self.session.scalars(stmt).first()

    def visible_project_ids(self) -> list[int]:
        """Ids of every visible project, in id order."""
        stmt = select(Project.id).where(visible_projects(self.actor)).order_by(Project.id)
        return list(self.session.scalars(stmt))

    def projects(self, project_ids: Sequence[int]) -> Sequence[Project]:
        """Visible projects by id, in id order."""
        if not project_ids:
            return []
        stmt = (
            select(Project)
            .where(Project.id.in_(list(project_ids)), visible_projects(self.actor))
            .order_by(Project.id)
        )
        return self.session.scalars(stmt).all()

    def supplier_names(self, supplier_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(code, name) of suppliers a report row names (a supplier sees only its own)."""
        if not supplier_ids:
            return {}
        stmt = select(Supplier.id, Supplier.code, Supplier.name).where(
            Supplier.id.in_(sorted(set(supplier_ids)))
        )
        if self.actor.is_supplier:
            stmt = stmt.where(Supplier.id == self.actor.supplier_id)
        return {row.id: (row.code, row.name) for row in self.session.execute(stmt)}

    def milestones_of(self, project_ids: Sequence[int]) -> Sequence[TaskTemplate]:
        """Every milestone of the (visible) projects, in plan order."""
        if not project_ids:
            return []
        stmt = (
            select(TaskTemplate)
            .where(TaskTemplate.project_id.in_(list(project_ids)))
            .order_by(TaskTemplate.project_id, TaskTemplate.sequence, TaskTemplate.id)
        )
        return self.session.scalars(stmt).all()

    def _day(self, value: date) -> Any:
        return day_literal(value, self.dialect)

    # Supplier performance -------------------------------------------------------------

    def _performance_terms(self) -> tuple[list[tuple[str, Any]], Any]:
        """Supplier performance per instance: (name, term) pairs and the rejected subquery.

        Each term is one instance's share of a figure (1 or 0 for the counts); the figures
        are their sums, per supplier (performance) or per supplier and month (by_month), so
        both read the same definitions.
        """
        submitted_on = local_date(T.submitted_at, self.dialect, self.zone)
        late = days_between(submitted_on, T.actual_due, self.dialect)
        # The predicate is written out (not bound) so that both planners match it with the
        # partial index ix_task_instance_history_rejected.
        rejected = (
            select(H.task_instance_id)
            .where(text(REJECTED_PREDICATE))
            .group_by(H.task_instance_id)
            .subquery("rejected")
        )
        overdue = and_(
            T.status.in_(sorted(OVERDUE_STATUSES)),
            T.actual_due < self._day(self.today),
            SP.status == AssignmentStatus.ACTIVE,
        )
        is_late = submitted_on > T.actual_due
        terms = [
            ("tasks_due", _one(T.status != TaskStatus.WAIVED)),
            ("submitted", _one(T.submitted_at.is_not(None))),
            ("approved", _one(T.status == TaskStatus.APPROVED)),
            ("on_time", _one(submitted_on <= T.actual_due)),
            (
                "first_pass",
                _one(and_(T.status == TaskStatus.APPROVED, rejected.c.task_instance_id.is_(None))),
            ),
            ("late", _one(is_late)),
            ("late_days", case((is_late, late), else_=0)),
            ("open_overdue", _one(overdue)),
            (
                "days_overdue",
                case(
                    (overdue, days_between(self._day(self.today), T.actual_due, self.dialect)),
                    else_=0,
                ),
            ),
        ]
        return terms, rejected

    def performance(self, window: Window) -> Sequence[AnyRow]:
        """Per supplier: counts, on-time and first-pass numerators, lateness, overdue."""
        terms, rejected = self._performance_terms()
        supplier = group_key(T.supplier_id, self.dialect)
        stmt = (
            select(
                supplier.label("supplier_id"),
                *(func.sum(term).label(name) for name, term in terms),
            )
            .join(SP, SP.id == T.supplier_project_id)
            .outerjoin(rejected, rejected.c.task_instance_id == T.id)
            .where(*self._window(window))
            .group_by(supplier)
        )
        return self._execute(stmt)

    def performance_by_month(self, window: Window) -> Sequence[AnyRow]:
        """performance() per supplier and month of actualDue (``month``: its first day).

        One query: the per-instance terms with their month in a subquery, summed outside it
        (PostgreSQL cannot group by the month expression itself: it holds a parameter).
        """
        terms, rejected = self._performance_terms()
        instances = (
            select(
                T.supplier_id.label("supplier_id"),
                period_start(T.actual_due, "month", self.dialect).label("month"),
                *(term.label(name) for name, term in terms),
            )
            .join(SP, SP.id == T.supplier_project_id)
            .outerjoin(rejected, rejected.c.task_instance_id == T.id)
            .where(*self._window(window))
            .subquery("monthly")
        )
        stmt = select(
            instances.c.supplier_id,
            instances.c.month,
            *(func.sum(instances.c[name]).label(name) for name, _ in terms),
        ).group_by(instances.c.supplier_id, instances.c.month)
        return self._execute(stmt)

    def _window(self, window: Window) -> list[Any]:
        return [
            T.actual_due >= self._day(window.start),
            T.actual_due <= self._day(window.end),
            *self._scope(window.project_id, window.supplier_id),
        ]

    def p90_days_late(self, window: Window) -> Sequence[AnyRow]:
        """Per supplier, the 90th percentile (nearest rank) of days late of late submissions."""
        submitted_on = local_date(T.submitted_at, self.dialect, self.zone)
        late = days_between(submitted_on, T.actual_due, self.dialect)
        ranked = (
            select(
                T.supplier_id,
                late.label("late"),
                over(func.row_number(), partition_by=T.supplier_id, order_by=late).label("rank"),
                over(func.count(), partition_by=T.supplier_id).label("n"),
            )
            .where(*self._window(window), submitted_on > T.actual_due)
            .subquery("ranked")
        )
        stmt = select(ranked.c.supplier_id, ranked.c.late).where(
            ranked.c.rank == (ranked.c.n * 9 + 9) // 10  # nearest rank: ceil(0.9 n)
        )
        return self._execute(stmt)

    def slips(self, window: Window) -> Sequence[AnyRow]:
        """Per supplier and reason code, how often a due date moved later."""
        reason = func.coalesce(H.reason_code, literal("UNSPECIFIED"), type_=String)
        supplier = group_key(T.supplier_id, self.dialect)
        stmt = (
            select(
                supplier.label("supplier_id"),
                reason.label("reason_code"),
                func.count().label("slips"),
            )
            .join(T, T.id == H.task_instance_id)
            .where(H.field == "ACTUAL_DUE", H.new_value > H.old_value, *self._window(window))
            .group_by(supplier, reason)
        )
        return self._execute(stmt)

    # Project status -------------------------------------------------------------------

    def _due_within(self, days: int) -> Any:
        """Open and due from today to ``days`` ahead (the due-in-7 and due-in-14 counts)."""
        return and_(
            T.status.in_(sorted(OPEN_STATUSES)),
            T.actual_due >= self._day(self.today),
            T.actual_due <= self._day(self.today + timedelta(days=days)),
        )

    def _current(self, project_id: int | None) -> list[Any]:
        return [SP.status == AssignmentStatus.ACTIVE, *self._scope(project_id, None)]

    def project_counts(self, project_id: int | None) -> Sequence[AnyRow]:
        """Per project and status: instances, overdue, due in the next 7 and 14 days."""
        today = self._day(self.today)
        stmt = (
            select(
                T.project_id,
                T.status,
                func.count().label("instances"),
                _count(and_(T.status.in_(sorted(OVERDUE_STATUSES)), T.actual_due < today)).label(
                    "overdue"
                ),
                _count(self._due_within(7)).label("due_7"),
                _count(self._due_within(14)).label("due_14"),
            )
            .join(SP, SP.id == T.supplier_project_id)
            .where(*self._current(project_id))
            .group_by(T.project_id, T.status)
        )
        return self._execute(stmt)

    def active_suppliers(self, project_id: int | None) -> Sequence[AnyRow]:
        """Per project, the suppliers actively assigned (only itself for a supplier)."""
        stmt = (
            select(SP.project_id, func.count().label("suppliers"))
            .where(SP.status == AssignmentStatus.ACTIVE)
            .group_by(SP.project_id)
        )
        if project_id is not None:
            stmt = stmt.where(SP.project_id == project_id)
        if self.actor.is_supplier:
            stmt = stmt.where(SP.supplier_id == self.actor.supplier_id)
        return self._execute(stmt)

    def suppliers_at_risk(self, project_id: int | None) -> Sequence[AnyRow]:
        """Per project and supplier with overdue or past-SOP open work: how much."""
        today = self._day(self.today)
        sop_of = select(Project.sop_date).where(Project.id == T.project_id).scalar_subquery()
        overdue = and_(T.status.in_(sorted(OVERDUE_STATUSES)), T.actual_due < today)
        past_sop = and_(T.status.in_(sorted(OPEN_STATUSES)), T.actual_due > sop_of)
        project = group_key(T.project_id, self.dialect)
        supplier = group_key(T.supplier_id, self.dialect)
        stmt = (
            select(
                project.label("project_id"),
                supplier.label("supplier_id"),
                _count(overdue).label("overdue"),
                func.max(
                    case((overdue, days_between(today, T.actual_due, self.dialect)), else_=0)
                ).label("max_days_overdue"),
                _count(past_sop).label("past_sop"),
            )
            .join(SP, SP.id == T.supplier_project_id)
            .where(*self._current(project_id))
            .group_by(project, supplier)
            .having(func.sum(case((overdue, 1), (past_sop, 1), else_=0)) > 0)
        )
        return self._execute(stmt)

    def milestones(self, project_id: int | None) -> Sequence[AnyRow]:
        """Per milestone: suppliers done, open, and late on it."""
        today = self._day(self.today)
        project = group_key(T.project_id, self.dialect)
        template = group_key(T.task_template_id, self.dialect)
        stmt = (
            select(
                project.label("project_id"),
                template.label("task_template_id"),
                _count(T.status.in_(sorted(DONE_STATUSES))).label("done"),
                _count(T.status.in_(sorted(OPEN_STATUSES))).label("open"),
                _count(and_(T.status.in_(sorted(OVERDUE_STATUSES)), T.actual_due < today)).label(
                    "late"
                ),
            )
            .join(SP, SP.id == T.supplier_project_id)
            .where(*self._current(project_id))
            .group_by(project, template)
        )
        return self._execute(stmt)

    # One project's milestone-by-supplier matrix ---------------------------------------

    def project_suppliers(
        self, project_id: int, after_id: int | None, limit: int | None
    ) -> Sequence[AnyRow]:
        """A page of a project's assignments by id (one more than ``limit``), with suppliers.

        Removed assignments too (their instances remain); a supplier sees only its own.
        """
        stmt = (
            select(
                SP.id.label("assignment_id"),
                SP.supplier_id,
                SP.status.label("assignment_status"),
                Supplier.code.label("supplier_code"),
                Supplier.name.label("supplier_name"),
                Supplier.status.label("supplier_status"),
            )
            .join(Supplier, Supplier.id == SP.supplier_id)
            .where(SP.project_id == project_id)
            .order_by(SP.id)
        )
        if self.actor.is_supplier:
            stmt = stmt.where(SP.supplier_id == self.actor.supplier_id)
        if after_id is not None:
            stmt = stmt.where(SP.id > after_id)
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        return self._execute(stmt)

    def matrix_cells(
        self, project_id: int, assignment_ids: Sequence[int] | None
    ) -> Sequence[AnyRow]:
        """Each instance of the project (of these assignments; None: all) and its state.

        ``state`` is done, late or open with the project status report's definitions:
        done = APPROVED or WAIVED, late = still in the supplier's hands past its due date.
        """
        today = self._day(self.today)
        state = case(
            (T.status.in_(sorted(DONE_STATUSES)), literal("done")),
            (
                and_(T.status.in_(sorted(OVERDUE_STATUSES)), T.actual_due < today),
                literal("late"),
            ),
            else_=literal("open"),
        )
        stmt = select(
            T.id,
            T.supplier_project_id,
            T.task_template_id,
            T.status,
            T.actual_due,
            state.label("state"),
        ).where(T.project_id == project_id, *self._scope(None, None))
        if assignment_ids is not None:
            if not assignment_ids:
                return []
            stmt = stmt.where(T.supplier_project_id.in_(list(assignment_ids)))
        return self._execute(stmt)

    def milestone_counts(self, project_id: int) -> Sequence[AnyRow]:
        """Per milestone of one project: project_counts' and milestones' figures in one pass.

        instances, done, open, late (= overdue), due in 7 and in 14 days, over the active
        assignments (a supplier: its own), with the conditions of those two queries.
        """
        today = self._day(self.today)
        open_ = T.status.in_(sorted(OPEN_STATUSES))
        template = group_key(T.task_template_id, self.dialect)
        stmt = (
            select(
                template.label("task_template_id"),
                func.count().label("instances"),
                _count(T.status.in_(sorted(DONE_STATUSES))).label("done"),
                _count(open_).label("open"),
                _count(and_(T.status.in_(sorted(OVERDUE_STATUSES)), T.actual_due < today)).label(
                    "late"
                ),
                _count(self._due_within(7)).label("due_7"),
                _count(self._due_within(14)).label("due_14"),
            )
            .join(SP, SP.id == T.supplier_project_id)
            .where(*self._current(project_id))
            .group_by(template)
        )
        return self._execute(stmt)
