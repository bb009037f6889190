"""Shifting days by calendar or working days, and measuring a move in the same unit. Pure."""

from __future__ import annotations

import enum
from datetime import date, timedelta

from supplytrack.planning.workdays import WorkCalendar


class Unit(enum.StrEnum):
    """How a shift or a cascade is counted."""

    DAYS = "DAYS"
    WORKING_DAYS = "WORKING_DAYS"


def add_days(day: date, amount: int) -> date:
    """``day`` plus ``amount`` calendar days; past what a date can hold, the end it ran into.

    The result may lie outside the valid day range: the rules refuse it then
    (DATE_OUT_OF_RANGE). It never raises, so a preview can list every offender.
    """
    try:
        return day + timedelta(days=amount)
    except OverflowError:
        return date.max if amount > 0 else date.min


def shift_date(day: date, amount: int, unit: Unit, calendar: WorkCalendar) -> date:
    """``day`` moved by ``amount`` calendar or working days (working days land on one)."""
    if unit == Unit.WORKING_DAYS:
        return calendar.add_working_days(day, amount)
    return add_days(day, amount)


def measure(old: date, new: date, unit: Unit, calendar: WorkCalendar) -> int:
    """The size of a move from ``old`` to ``new`` in ``unit``."""
    if unit == Unit.WORKING_DAYS:
        return calendar.working_days_between(old, new)
    return (new - old).days
