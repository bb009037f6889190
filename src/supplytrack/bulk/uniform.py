"""The common date change, set-based all the way: whole assignments shifted by N days.

When a change shifts every open instance of the assignments in scope by the same number of
calendar days (no milestone, status or date filter), the dependency order inside each
assignment cannot break, and the work is two statements per chunk: one UPDATE, and one
INSERT ... SELECT of the history rows. The checks are SQL aggregates; no row is loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField, TaskInstanceHistory
from supplytrack.audit.service import Why
from supplytrack.auth.actor import Actor
from supplytrack.core.context import current_request_id
from supplytrack.core.db import add_days, date_text, id_in
from supplytrack.core.models import UTCDateTime
from supplytrack.core.time import today, utcnow
from supplytrack.projects.models import Project
from supplytrack.schedule.exceptions import DueDateInPast, PastSopNeedsReason
from supplytrack.suppliers.models import AssignmentStatus, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES
from supplytrack.tasks.models import TaskInstance

T = TaskInstance
SAMPLE_SIZE = 50


def is_uniform(change: Mapping[str, Any]) -> bool:
    """Whether the change shifts whole assignments by calendar days."""
    return (
        change.get("shift_days") is not None
        and not change.get("template_ids")
        and not change.get("statuses")
        and change.get("due_from") is None
        and change.get("due_to") is None
    )


class UniformShift:
    """Checks and applies a uniform shift with SQL only."""

    def __init__(self, session: Session, actor: Actor, change: Mapping[str, Any]) -> None:
        self.session = session
        self.actor = actor
        self.days = int(change["shift_days"])
        self.supplier_ids: list[int] = list(change.get("supplier_ids") or [])
        self.dialect = session.get_bind().dialect.name

    def scope(self, project_id: int, supplier_project_ids: Sequence[int] | None = None) -> Any:
        """The open instances of active assignments that the change moves."""
        conditions = [
            T.project_id == project_id,
            T.status.not_in(sorted(DONE_STATUSES)),
            exists().where(
                SupplierProject.id == T.supplier_project_id,
                SupplierProject.status == AssignmentStatus.ACTIVE,
            ),
        ]
        if self.supplier_ids:
            conditions.append(id_in(T.supplier_id, self.supplier_ids, self.dialect))
        if supplier_project_ids is not None:
            conditions.append(id_in(T.supplier_project_id, supplier_project_ids, self.dialect))
        return and_(*conditions)

    def summary(self, project: Project) -> dict[str, Any]:
        """Count, earliest and latest due date, and a fingerprint of the rows in scope."""
        where = self.scope(project.id)
        count, earliest, ids, versions = (
            self.session.connection()
            .execute(
                select(
                    func.count(),
                    func.min(T.actual_due),
                    func.coalesce(func.sum(T.id), 0),
                    func.coalesce(func.sum(T.version), 0),
                ).where(where)
            )
            .one()
        )
        past_sop = 0
        if project.sop_date is not None:
            past_sop = (
                self.session.connection()
                .execute(
                    select(func.count()).where(
                        where,
                        T.actual_due <= project.sop_date,
                        T.actual_due > project.sop_date - timedelta(days=self.days),
                    )
                )
                .scalar_one()
                if self.days > 0
                else 0
            )
        digest = hashlib.sha256(
            f"uniform:{project.id}:{self.days}:{self.supplier_ids}:{count}:{ids}:{versions}".encode()
        ).hexdigest()[:32]
        return {
            "count": int(count),
            "earliest": earliest,
            "past_sop": int(past_sop),
            "token": digest,
        }

    def violations(
        self, project: Project, summary: Mapping[str, Any], why: Why
    ) -> list[dict[str, Any]]:
        """The rules a uniform shift can break: past dates, SOP without a reason."""
        found = []
        earliest = summary["earliest"]
        if earliest is not None and earliest + timedelta(days=self.days) < today():
            error: Any = DueDateInPast(today(), self._offenders(project, today()))
            found.append(error)
        if summary["past_sop"] and not (why.reason and why.reason.strip()):
            assert project.sop_date is not None
            found.append(PastSopNeedsReason(project.sop_date, []))
        return [{"code": e.code, "message": e.message, "details": e.details} for e in found]

    def _offenders(self, project: Project, now: date) -> list[dict[str, Any]]:
        limit = now - timedelta(days=self.days)
        rows = (
            self.session.connection()
            .execute(
                select(T.id, T.actual_due)
                .where(self.scope(project.id), T.actual_due < limit)
                .order_by(T.id)
                .limit(100)
            )
            .all()
        )
        return [
            {
                "taskInstanceId": row.id,
                "actualDue": (row.actual_due + timedelta(days=self.days)).isoformat(),
            }
            for row in rows
        ]

    def sample(self, project_id: int) -> list[dict[str, Any]]:
        """The first moves, for people to check."""
        rows = (
            self.session.connection()
            .execute(
                select(T.id, T.supplier_id, T.task_template_id, T.actual_due)
                .where(self.scope(project_id))
                .order_by(T.id)
                .limit(SAMPLE_SIZE)
            )
            .all()
        )
        return [
            {
                "task_instance_id": r.id,
                "supplier_id": r.supplier_id,
                "task_template_id": r.task_template_id,
                "from_date": r.actual_due,
                "to_date": r.actual_due + timedelta(days=self.days),
                "cascaded": False,
            }
            for r in rows
        ]

    def apply(
        self, project_id: int, why: Why, supplier_project_ids: Sequence[int] | None = None
    ) -> int:
        """Shift the scope (of the given assignments) and write its history: two statements."""
        where = self.scope(project_id, supplier_project_ids)
        now = utcnow()
        connection = self.session.connection()
        moved = connection.execute(
            update(T)
            .where(where)
            .values(
                actual_due=add_days(T.actual_due, self.days, self.dialect),
                version=T.version + 1,
                updated_at=now,
            ),
            execution_options={"preserve_rowcount": True},
        ).rowcount
        # The rows are ours until commit (locked / SQLite's write lock): the old date is the
        # new one minus the shift, exactly.
        columns = [
            "task_instance_id",
            "field",
            "old_value",
            "new_value",
            "changed_at",
            "actor_id",
            "actor",
            "reason",
            "source",
            "bulk_operation_id",
            "request_id",
            "reason_code",
            "change_id",
        ]
        rows = select(
            T.id,
            literal(HistoryField.ACTUAL_DUE.value, String),
            date_text(add_days(T.actual_due, -self.days, self.dialect), self.dialect),
            date_text(T.actual_due, self.dialect),
            literal(now, UTCDateTime()),
            literal(self.actor.token_id, Integer),
            literal(self.actor.label, String),
            literal(why.reason, String),
            literal(ChangeSource.BULK.value, String),
            literal(why.bulk_operation_id, Integer),
            literal(current_request_id(), String),
            literal(str(why.reason_code) if why.reason_code else None, String),
            literal(why.change_id, String),
        ).where(where)
        connection.execute(insert(TaskInstanceHistory).from_select(columns, rows))
        return int(moved)
