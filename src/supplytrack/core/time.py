"""Clock helpers: 'now' is UTC, 'today' is the calendar date in APP_TIMEZONE."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from supplytrack.core.settings import get_settings


def utcnow() -> datetime:
    """Return the current instant, timezone-aware, in UTC, to the microsecond."""
    return datetime.now(UTC)


def today() -> date:
    """Return today's date in the application's time zone (APP_TIMEZONE)."""
    return datetime.now(ZoneInfo(get_settings().app_timezone)).date()
