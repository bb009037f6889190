"""Set-based writes of task instances: fan-out, date moves, bulk statuses (never row by row)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from supplytrack.audit.models import HistoryField
from supplytrack.core.db import AnyRow, add_days, chunks, date_text, id_in
from supplytrack.core.models import UTCDateTime
from supplytrack.suppliers.models import AssignmentStatus, SupplierCapability, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES, OPEN_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import TaskFilter, TaskRepository, conditions
from supplytrack.tasks.state_machine import Stamp, StatusColumns
from supplytrack.templates.models import TaskTemplate

T = TaskInstance
SAMPLE_ROWS = 100
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

    def date_moves(self, moves: Mapping[int, tuple[date, date, Any]]) -> list[DateMove]:
        """Many due-date moves ({id: (old, new, tag)}) as few set-based statements as can be.

        A uniform shift is one ``actual_due = actual_due + n`` group; moves to scattered dates
        (working days) are one group per new date, whichever makes fewer groups; each group is
        split by ``tag`` (the history's source) and into sorted id chunks. The caller holds the
        rows (read in this transaction, locked on PostgreSQL), so ``old`` is current.
        """
        dialect = self.dialect
        by_delta: dict[tuple[Any, int], list[int]] = {}
        by_date: dict[tuple[Any, date], list[int]] = {}
        for instance_id, (old, new, tag) in moves.items():
            by_delta.setdefault((tag, (new - old).days), []).append(instance_id)
            by_date.setdefault((tag, new), []).append(instance_id)
        groups: list[tuple[Any, ColumnElement[Any], list[int]]]
        if len(by_delta) <= len(by_date):
            groups = [
                (tag, add_days(T.actual_due, delta, dialect), ids)
                for (tag, delta), ids in sorted(by_delta.items(), key=_group_order)
            ]
        else:
            groups = [
                (tag, literal(day, Date), ids)
                for (tag, day), ids in sorted(by_date.items(), key=_group_order)
            ]
        return [
            DateMove(self, tag, value, chunk) for tag, value, ids in groups for chunk in chunks(ids)
        ]

    def update_versioned(
        self, instance_id: int, version: int, values: dict[str, Any], now: datetime
    ) -> bool:
        """Write ``values`` if the instance is still at ``version`` (then one version more)."""
        result = self.core().execute(
            update(T)
            .where(T.id == instance_id, T.version == version)
            .values(**values, version=version + 1, updated_at=now),
            execution_options={"preserve_rowcount": True},
        )
        return bool(result.rowcount)

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
        stmt = self.visible(select(T.id, T.status, T.supplier_project_id, T.task_template_id))
        if ids is not None:
            stmt = stmt.where(id_in(T.id, ids, self.dialect))
        if where is not None:
            stmt = stmt.where(*conditions(where, today or date.min))
        if after_id is not None:
            stmt = stmt.where(T.id > after_id)
        stmt = stmt.order_by(T.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return self.core().execute(stmt.with_for_update()).all()

    def set_status(self, ids: Sequence[int], columns: StatusColumns, now: datetime) -> None:
        """Move many instances set-based, writing the status machine's columns."""
        values: dict[str, Any] = {
            "status": columns.status,
            "version": T.version + 1,
            "updated_at": now,
        }
        for name, stamp in (
            ("submitted_at", columns.submitted_at),
            ("completed_at", columns.completed_at),
        ):
            if stamp is Stamp.SET:
                values[name] = now
            elif stamp is Stamp.SET_IF_EMPTY:
                values[name] = func.coalesce(getattr(T, name), literal(now, UTCDateTime()))
            elif stamp is Stamp.CLEAR:
                values[name] = None
        for chunk in chunks(ids):
            self.session.execute(
                update(T).where(id_in(T.id, chunk, self.dialect)).values(**values),
                execution_options={"synchronize_session": False},
            )


class ShiftScope:
    """The open instances of a project's active assignments, shifted by N days in SQL only.

    The uniform bulk shift: no row is loaded; every question is an aggregate or a sample, and
    the shift itself one UPDATE (its history one INSERT ... SELECT, by the audit service).
    """

    def __init__(
        self,
        sets: InstanceSets,
        project_id: int,
        days: int,
        *,
        supplier_ids: Sequence[int] = (),
        supplier_project_ids: Sequence[int] | None = None,
    ) -> None:
        self.sets = sets
        self.days = days
        dialect = sets.dialect
        found = [
            T.project_id == project_id,
            T.status.not_in(sorted(DONE_STATUSES)),
            exists().where(
                SupplierProject.id == T.supplier_project_id,
                SupplierProject.status == AssignmentStatus.ACTIVE,
            ),
        ]
        if supplier_ids:
            found.append(id_in(T.supplier_id, list(supplier_ids), dialect))
        if supplier_project_ids is not None:
            found.append(id_in(T.supplier_project_id, list(supplier_project_ids), dialect))
        self.where = and_(*found)

    def summary(self) -> AnyRow:
        """(count, earliest, latest, sum of ids, sum of versions) of the instances in scope."""
        return (
            self.sets.core()
            .execute(
                select(
                    func.count(),
                    func.min(T.actual_due),
                    func.max(T.actual_due),
                    func.coalesce(func.sum(T.id), 0),
                    func.coalesce(func.sum(T.version), 0),
                ).where(self.where)
            )
            .one()
        )

    def outside(self, first: date | None, last: date | None) -> tuple[int, Sequence[AnyRow]]:
        """How many, and the first (id, date), whose shifted date leaves first..last."""
        # Compare the stored date with the bound minus the shift: no date arithmetic that
        # could overflow on the database's side, and the index on actual_due still serves.
        bounds = []
        if first is not None:
            bounds.append(T.actual_due < _minus(first, self.days))
        if last is not None:
            bounds.append(T.actual_due > _minus(last, self.days))
        return self._offenders(and_(self.where, or_(*bounds)) if bounds else false())

    def across(self, day: date) -> tuple[int, Sequence[AnyRow]]:
        """How many, and the first (id, date), the shift moves from on or before ``day`` past it."""
        if self.days <= 0:
            return 0, []
        return self._offenders(
            and_(self.where, T.actual_due <= day, T.actual_due > _minus(day, self.days))
        )

    def _offenders(self, condition: ColumnElement[bool]) -> tuple[int, Sequence[AnyRow]]:
        connection = self.sets.core()
        total = connection.execute(select(func.count()).where(condition)).scalar_one()
        if not total:
            return 0, []
        rows = connection.execute(
            select(T.id, T.actual_due).where(condition).order_by(T.id).limit(SAMPLE_ROWS)
        ).all()
        return int(total), rows

    def sample(self) -> Sequence[AnyRow]:
        """The first instances in scope (id, supplier_id, task_template_id, actual_due)."""
        return (
            self.sets.core()
            .execute(
                select(T.id, T.supplier_id, T.task_template_id, T.actual_due)
                .where(self.where)
                .order_by(T.id)
                .limit(SAMPLE_ROWS)
            )
            .all()
        )

    def shift(self, now: datetime) -> int:
        """Move every instance in scope by the days: one UPDATE."""
        result = self.sets.core().execute(
            update(T)
            .where(self.where)
            .values(
                actual_due=add_days(T.actual_due, self.days, self.sets.dialect),
                version=T.version + 1,
                updated_at=now,
            ),
            execution_options={"preserve_rowcount": True},
        )
        return int(result.rowcount)

    def changes(self) -> Select[Any]:
        """After :meth:`shift`: (id, field, old, new) of every move, for the audit trail.

        The rows are ours until commit (locked, or SQLite's write lock), so the old date is
        exactly the new one minus the shift.
        """
        dialect = self.sets.dialect
        return select(
            T.id,
            literal(HistoryField.ACTUAL_DUE.value, String),
            date_text(add_days(T.actual_due, -self.days, dialect), dialect),
            date_text(T.actual_due, dialect),
        ).where(self.where)


class DateMove:
    """One set-based group of due-date moves: the same new value for a chunk of ids."""

    def __init__(
        self, sets: InstanceSets, tag: Any, value: ColumnElement[Any], ids: Sequence[int]
    ) -> None:
        self.sets = sets
        self.tag = tag
        self.value = value
        self.where = id_in(T.id, ids, sets.dialect)

    def changes(self) -> Select[Any]:
        """Before :meth:`apply`: (id, field, old, new) of each move, for the audit trail."""
        dialect = self.sets.dialect
        return select(
            T.id,
            literal(HistoryField.ACTUAL_DUE.value, String),
            date_text(T.actual_due, dialect),
            date_text(self.value, dialect),
        ).where(self.where)

    def apply(self, now: datetime) -> None:
        """Write the moves: one UPDATE."""
        self.sets.core().execute(
            update(T)
            .where(self.where)
            .values(actual_due=self.value, version=T.version + 1, updated_at=now)
        )


def _group_order(item: tuple[tuple[Any, Any], list[int]]) -> tuple[str, Any]:
    (tag, key), _ids = item
    return str(tag), key


def _minus(day: date, days: int) -> date:
    """``day`` minus ``days``, clamped to what a date can hold."""
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return date.min if days > 0 else date.max
