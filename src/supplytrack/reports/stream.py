"""The instance export's rows, streamed from the database with a server-side cursor.

A million rows must leave at over 100,000 rows a second in flat memory, so the CSV path reads
the driver's own values (no per-value type conversion) and formats each row in one step; the
XLSX path wants typed cells and reads typed rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import case, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from supplytrack.core.identity import Actor
from supplytrack.projects.models import Project
from supplytrack.reports.files import csv_bool, formula_safe
from supplytrack.suppliers.models import Supplier
from supplytrack.tasks.derived import overdue_condition
from supplytrack.tasks.instance_reads import EXPORT_COLUMNS
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.scope import scoped
from supplytrack.templates.models import TaskTemplate

T = TaskInstance
BATCH = 5000
COLUMNS = EXPORT_COLUMNS  # one definition of the export's columns (tasks/instance_reads.py)


def _query(
    actor: Actor, project_id: int | None, supplier_id: int | None, today: date, raw: bool
) -> Any:
    def plain(column: Any) -> Any:
        return type_coerce(column, NullType) if raw else column

    stmt = (
        select(
            T.id,
            Project.code,
            Supplier.code,
            Supplier.name,
            TaskTemplate.name,
            plain(T.status),
            plain(TaskTemplate.canonical_due),
            plain(T.actual_due),
            case((overdue_condition(today), 1), else_=0),
            plain(T.submitted_at),
            plain(T.completed_at),
        )
        .join(Project, Project.id == T.project_id)
        .join(Supplier, Supplier.id == T.supplier_id)
        .join(TaskTemplate, TaskTemplate.id == T.task_template_id)
        .order_by(T.id)
    )
    if project_id is not None:
        stmt = stmt.where(T.project_id == project_id)
    if supplier_id is not None:
        stmt = stmt.where(T.supplier_id == supplier_id)
    stmt = scoped(stmt, actor)
    # Options on the statement: on the connection they would outlive this query.
    return stmt.execution_options(stream_results=True, max_row_buffer=BATCH)


def instance_rows(
    session: Session, actor: Actor, project_id: int | None, supplier_id: int | None, today: date
) -> Iterator[dict[str, Any]]:
    """Visible instances in id order, typed (dates, instants, booleans), for the workbook."""
    result = session.connection().execute(_query(actor, project_id, supplier_id, today, False))
    for row in result:
        item = dict(zip(COLUMNS, row, strict=True))
        item["overdue"] = bool(item["overdue"])
        yield item


def _sqlite_instant(stored: str | None) -> str | None:
    """'2026-01-02 03:04:05.000000' (SQLAlchemy's SQLite text) as ISO 8601 UTC."""
    if stored is None:
        return None
    text = stored[:10] + "T" + stored[11:]
    return (text[:-7] if text.endswith(".000000") else text) + "Z"


def _postgres_instant(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat() + "Z"


def _formatter(dialect: str) -> Callable[[Any], tuple[Any, ...]]:
    instant = _sqlite_instant if dialect == "sqlite" else _postgres_instant

    def day(value: Any) -> Any:
        return value if isinstance(value, str) else value.isoformat()

    def row_out(r: Any) -> tuple[Any, ...]:
        return (
            r[0],
            formula_safe(r[1]),
            formula_safe(r[2]),
            formula_safe(r[3]),
            formula_safe(r[4]),
            r[5],
            day(r[6]),
            day(r[7]),
            csv_bool(r[8]),
            instant(r[9]),
            instant(r[10]),
        )

    return row_out


def instance_csv_rows(
    session: Session, actor: Actor, project_id: int | None, supplier_id: int | None, today: date
) -> Iterator[tuple[Any, ...]]:
    """Visible instances in id order as ready CSV cells (ISO text, formula-safe)."""
    connection = session.connection()
    result = connection.execute(_query(actor, project_id, supplier_id, today, True))
    out = _formatter(connection.dialect.name)
    for row in result:
        yield out(row)
