"""Working-day arithmetic, by property."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplytrack.planning.workdays import WorkCalendar, calendar_of

days = st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31))
calendars = st.builds(
    WorkCalendar,
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    holidays=st.frozensets(days, max_size=30),
)


@given(calendars, days, st.integers(-200, 200))
def test_working_day_shifts_land_on_working_days_and_count_back(
    calendar: WorkCalendar, start: date, count: int
) -> None:
    landed = calendar.add_working_days(start, count)
    assert calendar.is_working_day(landed)
    if count > 0:
        assert landed > start
        assert calendar.working_days_between(start, landed) == count
    elif count < 0:
        assert landed < start
        assert calendar.working_days_between(start, landed) == count


@given(calendars, days, days)
def test_between_is_what_add_needs(calendar: WorkCalendar, start: date, end: date) -> None:
    if calendar.is_working_day(end):
        assert calendar.add_working_days(start, calendar.working_days_between(start, end)) == end


def test_default_calendar_skips_weekends_and_holidays() -> None:
    calendar = calendar_of(["MON", "TUE", "WED", "THU", "FRI"], [date(2026, 12, 25)])
    thursday = date(2026, 12, 24)
    assert calendar.add_working_days(thursday, 1) == date(2026, 12, 28)  # Fri holiday, weekend
    assert calendar.add_working_days(date(2026, 12, 26), 0) == date(2026, 12, 28)
    assert calendar.working_days_between(thursday, date(2026, 12, 28)) == 1
    with pytest.raises(ValueError, match="at least one working weekday"):
        WorkCalendar(frozenset())
    assert not calendar.is_working_day(thursday + timedelta(days=1))
