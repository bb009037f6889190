"""The instance export's rows, streamed from the database with a server-side cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.auth.actor import Actor
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier
from supplytrack.tasks.enums import OVERDUE_STATUSES
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate

T = TaskInstance
BATCH = 5000


def instance_rows(
    session: Session, actor: Actor, project_id: int | None, supplier_id: int | None, today: date
) -> Iterator[dict[str, Any]]:
    """Visible instances in id order with names, fetched ``BATCH`` rows at a time."""
    stmt = (
        select(
            T.id,
            Project.code.label("project_code"),
            Supplier.code.label("supplier_code"),
            Supplier.name.label("supplier_name"),
            TaskTemplate.name.label("milestone"),
            T.status,
            TaskTemplate.canonical_due,
            T.actual_due,
            T.submitted_at,
            T.completed_at,
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
    if actor.is_supplier:
        stmt = stmt.where(T.supplier_id == actor.supplier_id)
    overdue = {status.value for status in OVERDUE_STATUSES}
    result = (
        # Options on the statement: on the connection they would outlive this query.
        session.connection().execute(
            stmt.execution_options(stream_results=True, max_row_buffer=BATCH)
        )
    )
    for row in result:
        yield {
            "id": row.id,
            "project_code": row.project_code,
            "supplier_code": row.supplier_code,
            "supplier_name": row.supplier_name,
            "milestone": row.milestone,
            "status": row.status,
            "canonical_due": row.canonical_due,
            "actual_due": row.actual_due,
            "overdue": row.status in overdue and row.actual_due < today,
            "submitted_at": row.submitted_at,
            "completed_at": row.completed_at,
        }
