"""Clock helpers: 'now' is UTC, 'today' is the calendar date in APP_TIMEZONE; the valid days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from supplytrack.core.settings import get_settings

# Every day field (due dates, planned dates, project windows, holidays, filters) lies in this
# range, at the API's edge and after every computation (shifts, cascades, working days). A
# launch program is planned in years, not centuries; the bound keeps every computed date far
# from the ends of what Python and the databases can represent (year 9999 in Python).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)


def in_day_range(day: date) -> bool:
    """Whether ``day`` lies in the range every day field must stay in."""
    return FIRST_DAY <= day <= LAST_DAY


def utcnow() -> datetime:
    """Return the current instant, timezone-aware, in UTC, to the microsecond."""
    return datetime.now(UTC)


def today(zone: str | None = None) -> date:
    """Return today's date in ``zone`` (default: the application's APP_TIMEZONE)."""
    return datetime.now(ZoneInfo(zone or get_settings().app_timezone)).date()
