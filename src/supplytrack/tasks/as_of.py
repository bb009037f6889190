"""The plan as it stood at the end of a past day, rebuilt from the audit trail.

For each instance and field, the value at the end of day D is the newest history row written
before the cut (the start of D+1 in APP_TIMEZONE); when none was written before, it is the old
value of the first row written after; when the field never changed, it is the current value.
Instances created after the cut did not exist then and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import HistoryField, TaskInstanceHistory
from supplytrack.core.db import AnySelect
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import apply_keyset, parse_sort
from supplytrack.core.repository import Repository
from supplytrack.projects.models import Project
from supplytrack.tasks.enums import DONE_STATUSES, OPEN_STATUSES, OVERDUE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import TaskFilter, id_conditions
from supplytrack.tasks.scope import scoped

T = TaskInstance
H = TaskInstanceHistory


def end_of_day(day: date, zone: str) -> datetime:
    """The instant a day ends in ``zone`` (the start of the next one), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _value_at(field: HistoryField, cut: datetime, current: Any) -> Any:
    before = (
        select(H.new_value)
        .where(H.task_instance_id == T.id, H.field == field, H.changed_at < cut)
        .order_by(H.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    after = (
        select(H.old_value)
        .where(H.task_instance_id == T.id, H.field == field, H.changed_at >= cut)
        .order_by(H.id.asc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(before, after, cast(current, String)).label(field.value.lower())


def as_of_query(cut: datetime) -> AnySelect:
    """The as-of values of every instance that existed at ``cut`` (a subquery to filter)."""
    status = _value_at(HistoryField.STATUS, cut, T.status)
    due = _value_at(HistoryField.ACTUAL_DUE, cut, T.actual_due)
    completed_at = (
        select(func.max(H.changed_at))
        .where(
            H.task_instance_id == T.id,
            H.field == HistoryField.STATUS,
            H.new_value.in_(sorted(DONE_STATUSES)),
            H.changed_at < cut,
        )
        .scalar_subquery()
    )
    sop = select(Project.sop_date).where(Project.id == T.project_id).scalar_subquery()
    return select(
        T.id,
        T.supplier_project_id,
        T.project_id,
        T.supplier_id,
        T.task_template_id,
        status,
        due,
        completed_at.label("completed_at"),
        T.submitted_at,
        T.notes,
        T.created_at,
        sop.label("sop_date"),
    ).where(T.created_at < cut)


class AsOfRepository(Repository[TaskInstance]):
    """Reads of the plan as of a past day, scoped like every instance read."""

    model = TaskInstance

    def __init__(self, session: Session, actor: Actor, zone: str) -> None:
        super().__init__(session, actor)
        self.scope = actor
        self.zone = zone

    def end_of_day(self, day: date) -> datetime:
        """The instant ``day`` ends in APP_TIMEZONE, in UTC."""
        return end_of_day(day, self.zone)

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow to the instances the actor may see (the one instance predicate)."""
        return scoped(stmt, self.scope)

    def page(  # type: ignore[override]
        self, where: TaskFilter, day: date, *, cursor: str | None, limit: int
    ) -> Sequence[Any]:
        """A page (by id, one row more than ``limit``) of instances at the end of ``day``."""
        inner = self.visible(as_of_query(self.end_of_day(day))).where(*id_conditions(where))
        view = inner.subquery("as_of")
        stmt = select(view)
        # Dates are compared as ISO text: the rebuilt values come from the audit trail's text.
        if where.statuses:
            stmt = stmt.where(view.c.status.in_([s.value for s in where.statuses]))
        if where.due_before is not None:
            stmt = stmt.where(view.c.actual_due < where.due_before.isoformat())
        if where.due_after is not None:
            stmt = stmt.where(view.c.actual_due > where.due_after.isoformat())
        if where.overdue is not None:
            overdue = view.c.status.in_(sorted(OVERDUE_STATUSES)) & (
                view.c.actual_due < day.isoformat()
            )
            stmt = stmt.where(overdue if where.overdue else ~overdue)
        sort = parse_sort("id", {"id": view.c.id}, view.c.id)
        return self.session.execute(apply_keyset(stmt, sort, cursor, limit)).all()

    def one(self, instance_id: int, day: date) -> dict[str, Any] | None:
        """One visible instance as it stood at the end of ``day`` (None: not yet created)."""
        cut = self.end_of_day(day)
        stmt = self.visible(as_of_query(cut)).where(T.id == instance_id)
        row = self.session.execute(stmt).first()
        return shape(row, day, cut) if row is not None else None


def shape(row: Any, day: date, cut: datetime) -> dict[str, Any]:
    """An as-of row in the shape of TaskInstanceRead (with overdue and atRisk as of ``day``)."""
    status = TaskStatus(row.status)
    due = date.fromisoformat(str(row.actual_due)[:10])
    submitted = (
        row.submitted_at if row.submitted_at is not None and row.submitted_at < cut else None
    )
    return {
        "id": row.id,
        "supplier_project_id": row.supplier_project_id,
        "project_id": row.project_id,
        "supplier_id": row.supplier_id,
        "task_template_id": row.task_template_id,
        "status": status,
        "actual_due": due,
        "overdue": status in OVERDUE_STATUSES and due < day,
        "at_risk": status in OPEN_STATUSES and row.sop_date is not None and due > row.sop_date,
        "submitted_at": submitted,
        "completed_at": row.completed_at if status in DONE_STATUSES else None,
        "as_of": day,
    }
