"""Flags every read of instances derives in SQL (never stored): overdue and at risk."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, select

from supplytrack.projects.models import Project
from supplytrack.tasks.enums import OPEN_STATUSES, OVERDUE_STATUSES
from supplytrack.tasks.models import TaskInstance

T = TaskInstance


def overdue_condition(
    today: date | ColumnElement[Any], *, due_odds: str | None = None
) -> ColumnElement[bool]:
    """Open in the supplier's hands and due before today (derived, never stored).

    ``due_odds`` tells SQLite's planner what share of rows the due-date range keeps
    (``likelihood()``: the same rows, another plan).
    """
    before = T.actual_due < today
    if due_odds is not None:
        before = func.likelihood(before, literal_column(due_odds))
    return and_(T.status.in_(sorted(OVERDUE_STATUSES)), before)


def at_risk_condition() -> ColumnElement[bool]:
    """Open and due after the project's start of production (derived, never stored)."""
    sop = select(Project.sop_date).where(Project.id == T.project_id).scalar_subquery()
    return and_(T.status.in_(sorted(OPEN_STATUSES)), T.actual_due > sop)
