"""Compliance reports: who changed what and when, due-date moves, approvals, access, aging.

Every figure is an SQL aggregate (Python sees one row per actor, supplier or period, or one
page of listed rows). Days are calendar days of APP_TIMEZONE: a window ``from..to`` holds the
instants from ``from`` 00:00 to the end of ``to``, local time. A supplier token reads its own
supplier's instances and their history only (and its own access-log rows: that table is
staff-only under row-level security, so those are read in the system scope, narrowed here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from supplytrack.audit.models import (
    AccessLogEntry,
    AuditLog,
    HistoryField,
    TaskInstanceHistory,
)
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import BusinessRuleError, NotFound
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import decode_offset, encode_offset
from supplytrack.core.rowsecurity import system_scope
from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.projects.scope import visible_projects
from supplytrack.reports.dialect import day_literal, days_between, local_date, period_start
from supplytrack.suppliers.models import AssignmentStatus, Supplier, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES, OVERDUE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.scope import visible_instances
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

T = TaskInstance
H = TaskInstanceHistory
SP = SupplierProject
NO_REASON = "NO_REASON"
PAST_SOP = "PAST_SOP"
# Days overdue per bucket (inclusive); the last bucket is open-ended.
AGING_BUCKETS = ((1, 7), (8, 30), (31, 90))


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _as_date(value: Any) -> date | None:
    """A day from either engine (SQLite answers text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True, slots=True)
class Filter:
    """What a compliance report is narrowed to (``supplier_id`` forced for supplier tokens)."""

    start: date
    end: date
    project_id: int | None = None
    supplier_id: int | None = None


def page(rows: list[dict[str, Any]], cursor: str | None, limit: int | None) -> tuple[Any, Any]:
    """An offset page of aggregate rows already sorted (limit None: all, for exports)."""
    start = decode_offset(cursor)
    if limit is None:
        return rows[start:], None
    following = encode_offset(start + limit) if start + limit < len(rows) else None
    return rows[start : start + limit], following


class ComplianceReports:
    """The compliance queries for one actor (a supplier's narrowed to its own supplier)."""

    def __init__(self, session: Session, actor: Actor, zone: str) -> None:
        self.session = session
        self.actor = actor
        self.zone = zone
        self.today = today(zone)
        self.dialect = session.get_bind().dialect.name

    # Input ---------------------------------------------------------------------------

    def default_window(self) -> tuple[date, date]:
        """The last 365 days up to today."""
        return self.today - timedelta(days=365), self.today

    def narrowed(
        self,
        start: date | None,
        end: date | None,
        project_id: int | None,
        supplier_id: int | None,
    ) -> Filter:
        """The checked filter: a window in order, ids that exist and are visible.

        A supplier token's supplier is forced to its own; another supplier's id is a 404,
        exactly like an id nothing has.
        """
        default_start, default_end = self.default_window()
        start, end = start or default_start, end or default_end
        if start > end:
            raise BusinessRuleError("from must not be after to", code="INVALID_WINDOW")
        if self.actor.is_supplier:
            if supplier_id is not None and supplier_id != self.actor.supplier_id:
                raise NotFound("supplier", supplier_id)
            supplier_id = self.actor.supplier_id
        elif supplier_id is not None:
            found = self.session.scalar(select(Supplier.id).where(Supplier.id == supplier_id))
            if found is None:
                raise NotFound("supplier", supplier_id)
        if project_id is not None:
            stmt = select(Project.id).where(Project.id == project_id, visible_projects(self.actor))
            if self.session.scalar(stmt) is None:
                raise NotFound("project", project_id)
        return Filter(start, end, project_id, supplier_id)

    def _instant(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(self.zone)).astimezone(UTC)

    def _between(self, column: Any, where: Filter) -> list[Any]:
        """``column`` (an instant) within the window's local days."""
        return [
            column >= self._instant(where.start),
            column < self._instant(where.end + timedelta(days=1)),
        ]

    def _instances(self, where: Filter) -> list[Any]:
        conditions = []
        if where.project_id is not None:
            conditions.append(T.project_id == where.project_id)
        if where.supplier_id is not None:
            conditions.append(T.supplier_id == where.supplier_id)
        if self.actor.is_supplier:
            conditions.append(visible_instances(self.actor))
        return conditions

    def _execute(self, stmt: Any) -> Sequence[AnyRow]:
        return self.session.connection().execute(stmt).all()

    def _names(self, supplier_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        if not supplier_ids:
            return {}
        stmt = select(Supplier.id, Supplier.code, Supplier.name).where(
            Supplier.id.in_(sorted(set(supplier_ids)))
        )
        if self.actor.is_supplier:
            stmt = stmt.where(Supplier.id == self.actor.supplier_id)
        return {row.id: (row.code, row.name) for row in self.session.execute(stmt)}

    # 1. Changes by actor and period -------------------------------------------------

    def changes(self, where: Filter, period: str, actor_id: int | None) -> list[dict[str, Any]]:
        """Per actor and period: history rows (instance changes) and audit-log rows (others)."""
        one, zero = literal_column("1", Integer), literal_column("0", Integer)
        history = select(
            H.actor_id.label("actor_id"),
            H.actor.label("actor"),
            H.changed_at.label("at"),
            one.label("instance"),
            zero.label("other"),
        ).where(*self._between(H.changed_at, where))
        if actor_id is not None:
            history = history.where(H.actor_id == actor_id)
        if self.actor.is_supplier:
            own = exists().where(
                T.id == H.task_instance_id, T.supplier_id == self.actor.supplier_id
            )
            history = history.where(own)
            parts: Any = history
        else:
            others = select(
                AuditLog.actor_id,
                AuditLog.actor,
                AuditLog.changed_at,
                zero,
                one,
            ).where(*self._between(AuditLog.changed_at, where))
            if actor_id is not None:
                others = others.where(AuditLog.actor_id == actor_id)
            parts = union_all(history, others)
        changes = parts.subquery("changes")
        day = local_date(changes.c.at, self.dialect, self.zone)
        periods = select(
            period_start(day, period, self.dialect).label("period"),
            changes.c.actor_id,
            changes.c.actor,
            changes.c.instance,
            changes.c.other,
        ).subquery("periods")
        stmt = select(
            periods.c.period,
            periods.c.actor_id,
            periods.c.actor,
            func.sum(periods.c.instance).label("instance_changes"),
            func.sum(periods.c.other).label("other_changes"),
        ).group_by(periods.c.period, periods.c.actor_id, periods.c.actor)
        rows = [
            {
                "period_start": _as_date(row.period),
                "actor_id": row.actor_id,
                "actor": row.actor,
                "instance_changes": int(row.instance_changes or 0),
                "other_changes": int(row.other_changes or 0),
                "changes": int(row.instance_changes or 0) + int(row.other_changes or 0),
            }
            for row in self._execute(stmt)
        ]
        rows.sort(key=lambda r: (r["period_start"], r["actor"], r["actor_id"] or 0))
        return rows

    # 2. Due-date changes without a reason, or past SOP ---------------------------------

    def due_date_changes(
        self, where: Filter, before_id: int | None, limit: int | None
    ) -> list[dict[str, Any]]:
        """ACTUAL_DUE history rows without a reason or moving past SOP, newest first.

        ``limit`` rows and one more (to tell whether a next page exists); None: all.
        """
        no_reason = and_(
            H.reason_code.is_(None),
            func.coalesce(func.trim(H.reason), "") == "",
        )
        # ISO dates as text compare as dates on SQLite; PostgreSQL compares the cast value.
        new_due: Any = H.new_value if self.dialect == "sqlite" else cast(H.new_value, Date)
        past_sop = and_(
            Project.sop_date.is_not(None), H.new_value.is_not(None), new_due > Project.sop_date
        )
        stmt = (
            select(
                H.id,
                H.task_instance_id,
                T.project_id,
                Project.code.label("project_code"),
                Project.sop_date,
                T.supplier_id,
                Supplier.code.label("supplier_code"),
                T.task_template_id,
                TaskTemplate.name.label("milestone"),
                H.old_value,
                H.new_value,
                H.changed_at,
                H.actor_id,
                H.actor,
                H.source,
                H.reason_code,
                H.reason,
                case((no_reason, 1), else_=0).label("no_reason"),
                case((past_sop, 1), else_=0).label("past_sop"),
            )
            .join(T, T.id == H.task_instance_id)
            .join(Project, Project.id == T.project_id)
            .join(Supplier, Supplier.id == T.supplier_id)
            .join(TaskTemplate, TaskTemplate.id == T.task_template_id)
            .where(
                H.field == HistoryField.ACTUAL_DUE,
                or_(no_reason, past_sop),
                *self._between(H.changed_at, where),
                *self._instances(where),
            )
            .order_by(H.id.desc())
        )
        if before_id is not None:
            stmt = stmt.where(H.id < before_id)
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        return [
            {
                "id": row.id,
                "flags": [
                    flag
                    for flag, on in ((NO_REASON, row.no_reason), (PAST_SOP, row.past_sop))
                    if on
                ],
                "task_instance_id": row.task_instance_id,
                "project_id": row.project_id,
                "project_code": row.project_code,
                "sop_date": row.sop_date,
                "supplier_id": row.supplier_id,
                "supplier_code": row.supplier_code,
                "task_template_id": row.task_template_id,
                "milestone": row.milestone,
                "old_due": _as_date(row.old_value),
                "new_due": _as_date(row.new_value),
                "changed_at": row.changed_at,
                "actor_id": row.actor_id,
                "actor": row.actor,
                "source": str(row.source),
                "reason_code": None if row.reason_code is None else str(row.reason_code),
                "reason": row.reason,
            }
            for row in self._execute(stmt)
        ]

    # 3. Approvals by approver ---------------------------------------------------------

    def approvals(self, where: Filter) -> list[dict[str, Any]]:
        """Per approver: approvals, rejections, first and last decision, instances decided."""
        approved = H.new_value == TaskStatus.APPROVED.value
        stmt = (
            select(
                H.actor_id,
                H.actor,
                _count(approved).label("approvals"),
                _count(H.new_value == TaskStatus.REJECTED.value).label("rejections"),
                func.min(H.changed_at).label("first_at"),
                func.max(H.changed_at).label("last_at"),
                func.count(distinct(H.task_instance_id)).label("instances"),
            )
            .join(T, T.id == H.task_instance_id)
            .where(
                H.field == HistoryField.STATUS,
                H.new_value.in_([TaskStatus.APPROVED.value, TaskStatus.REJECTED.value]),
                *self._between(H.changed_at, where),
                *self._instances(where),
            )
            .group_by(H.actor_id, H.actor)
        )
        rows = [
            {
                "actor_id": row.actor_id,
                "actor": row.actor,
                "approvals": int(row.approvals or 0),
                "rejections": int(row.rejections or 0),
                "first_at": row.first_at,
                "last_at": row.last_at,
                "instances": int(row.instances),
            }
            for row in self._execute(stmt)
        ]
        rows.sort(key=lambda r: (-r["approvals"], r["actor"], r["actor_id"] or 0))
        return rows

    # 4. Approved while a prerequisite was open ---------------------------------------

    def approved_with_open_prerequisites(
        self, where: Filter, cursor: str | None, limit: int | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Each approval whose prerequisite instance was not APPROVED or WAIVED at that moment.

        The prerequisite's status then: its last STATUS row before the approval's (by id);
        with none, the ``old_value`` of its first STATUS row after it (the status it had
        until then); with no STATUS row at all, its status now (it never changed).
        """
        A = aliased(H, name="approval")  # noqa: N806 - the approval row
        P = aliased(T, name="prerequisite")  # noqa: N806 - the prerequisite instance
        before = aliased(H, name="before_row")
        after = aliased(H, name="after_row")
        milestone = aliased(TaskTemplate, name="milestone")
        prerequisite_milestone = aliased(TaskTemplate, name="prerequisite_milestone")
        last_before = (
            select(before.new_value)
            .where(
                before.task_instance_id == P.id,
                before.field == HistoryField.STATUS,
                before.id < A.id,
            )
            .order_by(before.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        first_after = (
            select(after.old_value)
            .where(
                after.task_instance_id == P.id,
                after.field == HistoryField.STATUS,
                after.id > A.id,
            )
            .order_by(after.id.asc())
            .limit(1)
            .scalar_subquery()
        )
        status_then = func.coalesce(last_before, first_after, cast(P.status, String))
        pairs = (
            select(
                A.id.label("approval_id"),
                A.changed_at.label("approved_at"),
                A.actor_id,
                A.actor,
                A.source,
                T.id.label("task_instance_id"),
                T.project_id,
                T.supplier_id,
                milestone.name.label("milestone"),
                P.id.label("prerequisite_id"),
                prerequisite_milestone.name.label("prerequisite_milestone"),
                status_then.label("prerequisite_status"),
            )
            .join(T, T.id == A.task_instance_id)
            .join(TaskTemplateDependency, TaskTemplateDependency.template_id == T.task_template_id)
            .join(
                P,
                and_(
                    P.supplier_project_id == T.supplier_project_id,
                    P.task_template_id == TaskTemplateDependency.depends_on_id,
                ),
            )
            .join(milestone, milestone.id == T.task_template_id)
            .join(prerequisite_milestone, prerequisite_milestone.id == P.task_template_id)
            .where(
                A.field == HistoryField.STATUS,
                A.new_value == TaskStatus.APPROVED.value,
                *self._instances(where),
            )
            .subquery("pairs")
        )
        stmt = (
            select(pairs)
            .where(pairs.c.prerequisite_status.not_in(sorted(DONE_STATUSES)))
            .order_by(pairs.c.approval_id, pairs.c.prerequisite_id)
        )
        start = decode_offset(cursor)
        if start:
            stmt = stmt.offset(start)
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        found = self._execute(stmt)
        names = self._names([row.supplier_id for row in found])
        rows = [
            {
                "approval_id": row.approval_id,
                "approved_at": row.approved_at,
                "actor_id": row.actor_id,
                "actor": row.actor,
                "source": str(row.source),
                "task_instance_id": row.task_instance_id,
                "project_id": row.project_id,
                "supplier_id": row.supplier_id,
                "supplier_code": names.get(row.supplier_id, ("", ""))[0],
                "milestone": row.milestone,
                "prerequisite_id": row.prerequisite_id,
                "prerequisite_milestone": row.prerequisite_milestone,
                "prerequisite_status": str(row.prerequisite_status),
            }
            for row in found
        ]
        if limit is not None and len(rows) > limit:
            return rows[:limit], encode_offset(start + limit)
        return rows, None

    # 5. Supplier access by period ----------------------------------------------------

    def supplier_access(self, where: Filter, period: str) -> list[dict[str, Any]]:
        """Per supplier and period: requests, distinct tokens, refused (>= 400), first, last."""
        L = AccessLogEntry  # noqa: N806
        # A supplier token's own rows, whatever the filter says (the read below bypasses RLS).
        only = self.actor.supplier_id if self.actor.is_supplier else where.supplier_id
        entries = select(L.supplier_id, L.token_id, L.status, L.at).where(
            L.supplier_id.is_not(None), *self._between(L.at, where)
        )
        if only is not None:
            entries = entries.where(L.supplier_id == only)
        inner = entries.subquery("entries")
        day = local_date(inner.c.at, self.dialect, self.zone)
        periods = select(
            period_start(day, period, self.dialect).label("period"),
            inner.c.supplier_id,
            inner.c.token_id,
            inner.c.status,
            inner.c.at,
        ).subquery("periods")
        stmt = select(
            periods.c.period,
            periods.c.supplier_id,
            func.count().label("requests"),
            func.count(distinct(periods.c.token_id)).label("tokens"),
            _count(periods.c.status >= 400).label("refused"),
            func.min(periods.c.at).label("first_at"),
            func.max(periods.c.at).label("last_at"),
        ).group_by(periods.c.period, periods.c.supplier_id)
        # access_log is staff-only under row-level security: a supplier's own rows are read
        # as the system, narrowed above to its own supplier.
        if self.actor.is_supplier:
            with system_scope():
                found = self._execute(stmt)
        else:
            found = self._execute(stmt)
        names = self._names([row.supplier_id for row in found])
        rows = [
            {
                "period_start": _as_date(row.period),
                "supplier_id": row.supplier_id,
                "supplier_code": names.get(row.supplier_id, ("", ""))[0],
                "supplier_name": names.get(row.supplier_id, ("", ""))[1],
                "requests": int(row.requests),
                "tokens": int(row.tokens),
                "refused": int(row.refused or 0),
                "first_at": row.first_at,
                "last_at": row.last_at,
            }
            for row in found
        ]
        rows.sort(key=lambda r: (r["period_start"], r["supplier_id"]))
        return rows

    # 6. Overdue instances by age --------------------------------------------------------

    def overdue_aging(self, where: Filter) -> list[dict[str, Any]]:
        """Per supplier: open overdue instances (active assignments) by days overdue."""
        today_ = day_literal(self.today, self.dialect)
        overdue = (
            select(
                T.supplier_id,
                T.actual_due,
                days_between(today_, T.actual_due, self.dialect).label("days"),
            )
            .join(SP, SP.id == T.supplier_project_id)
            .where(
                T.status.in_(sorted(OVERDUE_STATUSES)),
                T.actual_due < today_,
                SP.status == AssignmentStatus.ACTIVE,
                *self._instances(where),
            )
            .subquery("overdue")
        )
        days = overdue.c.days
        buckets = [_count(and_(days >= low, days <= high)) for low, high in AGING_BUCKETS]
        stmt = select(
            overdue.c.supplier_id,
            *(bucket.label(f"bucket_{n}") for n, bucket in enumerate(buckets)),
            _count(days > AGING_BUCKETS[-1][1]).label("over"),
            func.count().label("total"),
            func.max(days).label("oldest_days"),
            func.min(overdue.c.actual_due).label("oldest_due"),
        ).group_by(overdue.c.supplier_id)
        found = self._execute(stmt)
        names = self._names([row.supplier_id for row in found])
        rows = [
            {
                "supplier_id": row.supplier_id,
                "supplier_code": names.get(row.supplier_id, ("", ""))[0],
                "supplier_name": names.get(row.supplier_id, ("", ""))[1],
                "days_1_to_7": int(row.bucket_0 or 0),
                "days_8_to_30": int(row.bucket_1 or 0),
                "days_31_to_90": int(row.bucket_2 or 0),
                "days_over_90": int(row.over or 0),
                "total": int(row.total),
                "oldest_days": int(row.oldest_days),
                "oldest_due": _as_date(row.oldest_due),
            }
            for row in found
        ]
        rows.sort(key=lambda r: (-r["total"], r["supplier_code"], r["supplier_id"]))
        return rows
