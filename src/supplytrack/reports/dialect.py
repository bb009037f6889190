"""The few SQL expressions that differ between SQLite and PostgreSQL, in one place.

Both engines must give identical report figures, so each expression here is written to mean
exactly the same thing on both (dates as local calendar days of APP_TIMEZONE, whole days).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, DateTime, Integer, String, cast, func, literal

from supplytrack.core.db import LOCAL_DATE_FUNCTION


def local_date(instant: Any, dialect: str, zone: str) -> Any:
    """The calendar day (in ``zone``) of a UTC instant column, comparable with DATE columns."""
    if dialect == "sqlite":
        if zone == "UTC":
            return func.date(instant, type_=String)
        return getattr(func, LOCAL_DATE_FUNCTION)(instant, type_=String)
    if zone == "UTC":
        return cast(instant, Date)
    return cast(func.timezone(literal(zone), func.timezone(literal("UTC"), instant)), Date)


def days_between(later: Any, earlier: Any, dialect: str) -> Any:
    """Whole days from ``earlier`` to ``later`` (both calendar days)."""
    if dialect == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return cast(later - earlier, Integer)


def day_literal(value: Any, dialect: str) -> Any:
    """A date parameter comparable with the day expressions above."""
    if dialect == "sqlite":
        return literal(value.isoformat(), String)
    return literal(value, Date)


def group_key(column: Any, dialect: str) -> Any:
    """A GROUP BY key that does not tempt SQLite to walk a whole index in key order.

    SQLite prefers reading an index on the grouping column (no sort needed) over searching the
    filter's index; for one project that reads every instance of every project. ``+ 0`` keeps
    the value and hides the index; PostgreSQL plans the same either way.
    """
    return column + 0 if dialect == "sqlite" else column


PERIODS = ("day", "week", "month")


def period_start(day: Any, period: str, dialect: str) -> Any:
    """The first day of the ``day``'s period: itself, its ISO week's Monday, its month's 1st.

    ``day`` is a calendar-day expression (:func:`local_date`). Group by the result through a
    subquery: PostgreSQL cannot match a GROUP BY expression holding bound parameters.
    """
    if period not in PERIODS:
        raise ValueError(period)
    if period == "day":
        return day
    if dialect == "sqlite":
        if period == "week":
            # The week's Sunday (the day itself on a Sunday), then back to its Monday.
            return func.date(day, literal("weekday 0"), literal("-6 days"), type_=String)
        return func.strftime(literal("%Y-%m-01"), day, type_=String)
    return cast(func.date_trunc(literal(period), cast(day, DateTime)), Date)
