"""Every query of the audit trail (appends and reads; the database refuses the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, Select, String, insert, literal, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import (
    AuditEntity,
    AuditLog,
    ChangeSource,
    HistoryField,
    ReasonCode,
    TaskInstanceHistory,
)
from supplytrack.core.models import UTCDateTime

HISTORY_COLUMNS = (
    "task_instance_id",
    "field",
    "old_value",
    "new_value",
    "actor_id",
    "actor",
    "reason",
    "source",
    "bulk_operation_id",
    "request_id",
    "reason_code",
    "change_id",
)


# PostgreSQL types of HISTORY_COLUMNS and changed_at, for the unnest() of a batch.
_PG_TYPES = (
    "int",
    "text",
    "text",
    "text",
    "int",
    "text",
    "text",
    "text",
    "int",
    "text",
    "text",
    "text",
    "timestamp",
)
_PG_BATCH = 10_000


def stored_instant(moment: datetime, dialect: str) -> Any:
    """An instant as the UTCDateTime column stores it (naive UTC; SQLite: SQLAlchemy's text)."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else naive


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters of the audit log (None: any)."""

    entity: AuditEntity | None = None
    entity_id: int | None = None
    actor_id: int | None = None
    source: ChangeSource | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Filters of an instance's audit trail."""

    field: HistoryField | None = None
    source: ChangeSource | None = None
    reason_code: ReasonCode | None = None
    change_id: str | None = None


class HistoryRepository:
    """Reads and appends of task_instance_history (callers check visibility first)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, rows: Sequence[tuple[Any, ...]], changed_at: datetime) -> None:
        """Insert history rows (values in HISTORY_COLUMNS order, without changed_at).

        This is the audit trail of bulk work too (100,000 rows at a time), so it goes straight
        to the driver with plain values, not through the ORM: on PostgreSQL as one
        INSERT ... SELECT FROM unnest(arrays) per 10,000 rows (a row-by-row executemany costs
        about 50 us a row there), on SQLite as executemany (in-process, already cheap).
        """
        if not rows:
            return
        connection = self.session.connection()
        dialect = connection.dialect.name
        when = stored_instant(changed_at, dialect)
        columns = ", ".join((*HISTORY_COLUMNS, "changed_at"))
        if dialect == "postgresql":
            arrays = ", ".join(f"%s::{kind}[]" for kind in _PG_TYPES)
            # Only our own column names and types go into the text: values are bound.
            statement = (
                f"INSERT INTO task_instance_history ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608  # nosec B608
            )
            for start in range(0, len(rows), _PG_BATCH):
                batch = rows[start : start + _PG_BATCH]
                values = [list(column) for column in zip(*batch, strict=True)]
                connection.exec_driver_sql(statement, (*values, [when] * len(batch)))
            return
        marks = ", ".join(["?"] * (len(HISTORY_COLUMNS) + 1))
        statement = f"INSERT INTO task_instance_history ({columns}) VALUES ({marks})"  # noqa: S608  # nosec B608
        connection.exec_driver_sql(statement, [(*row, when) for row in rows])

    def append_from(self, changes: Select[Any], who: dict[str, Any], changed_at: datetime) -> None:
        """INSERT ... SELECT: the rows of ``changes`` (instance, field, old, new) plus ``who``."""
        typed = {"actor_id": Integer, "bulk_operation_id": Integer}
        rows = changes.add_columns(
            *(literal(value, typed.get(name, String)) for name, value in who.items()),
            literal(changed_at, UTCDateTime()),
        )
        columns = ["task_instance_id", "field", "old_value", "new_value", *who, "changed_at"]
        self.session.connection().execute(insert(TaskInstanceHistory).from_select(columns, rows))

    def append_log(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert audit-log rows (bulk_operation_id belongs to instance history only)."""
        if rows:
            self.session.execute(
                insert(AuditLog),
                [{k: v for k, v in row.items() if k != "bulk_operation_id"} for row in rows],
            )

    def page(
        self, task_instance_id: int, where: HistoryFilter, *, before_id: int | None, limit: int
    ) -> Sequence[TaskInstanceHistory]:
        """Newest first, one more than ``limit``."""
        h = TaskInstanceHistory
        stmt = select(h).where(h.task_instance_id == task_instance_id)
        for column, value in (
            (h.field, where.field),
            (h.source, where.source),
            (h.reason_code, where.reason_code),
            (h.change_id, where.change_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if before_id is not None:
            stmt = stmt.where(h.id < before_id)
        stmt = stmt.order_by(h.id.desc()).limit(limit + 1)
        return self.session.scalars(stmt).all()

    def log_page(
        self, where: AuditFilter, *, before_id: int | None, limit: int
    ) -> Sequence[AuditLog]:
        """Audit-log rows newest first, one more than ``limit``."""
        a = AuditLog
        stmt = select(a)
        for column, value in (
            (a.entity, where.entity),
            (a.entity_id, where.entity_id),
            (a.actor_id, where.actor_id),
            (a.source, where.source),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if where.since is not None:
            stmt = stmt.where(a.changed_at >= where.since)
        if where.until is not None:
            stmt = stmt.where(a.changed_at < where.until)
        if before_id is not None:
            stmt = stmt.where(a.id < before_id)
        return self.session.scalars(stmt.order_by(a.id.desc()).limit(limit + 1)).all()
