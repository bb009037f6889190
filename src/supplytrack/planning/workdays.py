"""Working-day arithmetic over a calendar of working weekdays and holidays. Pure: no database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from supplytrack.calendars.weekdays import WEEKDAY_NAMES, numbers_of
from supplytrack.core.time import FIRST_DAY, LAST_DAY

MONDAY_TO_FRIDAY = frozenset(range(5))


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are worked: weekdays (0 = Monday) minus holidays."""

    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            msg = "a calendar needs at least one working weekday, numbered 0 (Mon) to 6 (Sun)"
            raise ValueError(msg)

    def is_working_day(self, day: date) -> bool:
        """Whether work happens on ``day``."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def on_or_after(self, day: date) -> date:
        """``day`` itself when worked, else the next working day."""
        while not self.is_working_day(day) and day <= LAST_DAY:
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """Move ``count`` working days from ``day`` (negative: back); lands on a working day.

        Counting starts from ``day``: from a non-working day, +1 is the first working day
        after it, and 0 rolls forward onto the next working day.
        """
        if not FIRST_DAY <= day <= LAST_DAY:
            # From outside the valid range no count ends well: say so with a day the rules
            # refuse (DATE_OUT_OF_RANGE) instead of overflowing on the way.
            return date.max if count >= 0 else date.min
        if count == 0:
            return self.on_or_after(day)
        step = timedelta(days=1 if count > 0 else -1)
        remaining = abs(count)
        while remaining:
            if not FIRST_DAY <= day <= LAST_DAY:
                return day  # past the valid range: out of range, refused by the rules
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days :meth:`add_working_days` needs to go from ``start`` to ``end``.

        Forward it counts the working days in (start, end], backward those in [end, start),
        so that ``add_working_days(start, working_days_between(start, end)) == end`` whenever
        ``end`` is a working day.
        """
        if end >= start:
            span = range(1, (end - start).days + 1)
            return sum(1 for offset in span if self.is_working_day(start + timedelta(days=offset)))
        span = range((start - end).days)
        return -sum(1 for offset in span if self.is_working_day(end + timedelta(days=offset)))


def calendar_of_mask(mask: int, holidays: Iterable[date]) -> WorkCalendar:
    """Build a calendar from a stored weekday bit mask and holiday dates."""
    return WorkCalendar(numbers_of(mask), frozenset(holidays))


def calendar_of(weekday_names: Iterable[str], holidays: Iterable[date]) -> WorkCalendar:
    """Build a calendar from weekday names (MON..SUN) and holiday dates."""
    return WorkCalendar(
        frozenset(WEEKDAY_NAMES.index(name) for name in weekday_names), frozenset(holidays)
    )
