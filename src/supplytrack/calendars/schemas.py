"""API shapes of project calendars."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from supplytrack.core.schemas import IsoDate, Name, ReadModel, WriteModel

Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def _distinct_weekdays(values: list[Weekday]) -> list[Weekday]:
    if len(set(values)) != len(values):
        msg = "each weekday at most once"
        raise ValueError(msg)
    return values


class Holiday(WriteModel):
    """A day off."""

    date: IsoDate = Field(description="The day (YYYY-MM-DD).")
    name: Name | None = Field(None, description="What it is, e.g. 'Christmas'.")


class HolidayRead(ReadModel):
    """A day off."""

    date: dt.date = Field(description="The day.")
    name: str | None = Field(description="What it is.")


class CalendarUpdate(WriteModel):
    """The whole calendar: working weekdays and holidays (replaces the previous one)."""

    working_weekdays: Annotated[
        list[Weekday], Field(min_length=1, max_length=7), AfterValidator(_distinct_weekdays)
    ] = Field(description="Days of the week that are worked, e.g. MON..FRI.")
    holidays: list[Holiday] = Field(
        default_factory=list, max_length=1000, description="Days off, whatever the weekday."
    )
    reason: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="Why the calendar changed (audit trail)."
    )


class CalendarRead(ReadModel):
    """A project's working-day calendar (Monday to Friday, no holidays, until changed)."""

    project_id: int = Field(description="The project.")
    working_weekdays: list[Weekday] = Field(description="Days of the week that are worked.")
    holidays: list[HolidayRead] = Field(description="Days off, in date order.")
    version: int = Field(description="Version, also the ETag (0: never changed).")
