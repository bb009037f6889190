"""The rules of project calendars: default Monday to Friday, replaced whole, edits audited.

A leaf of the domain layer: the caller (a flow) has found the project visible first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import AuditService, Why, new_change_id
from supplytrack.calendars.models import ProjectCalendar
from supplytrack.calendars.repository import CalendarRepository
from supplytrack.calendars.schemas import CalendarUpdate
from supplytrack.calendars.weekdays import MONDAY_TO_FRIDAY_MASK, mask_of, names_of
from supplytrack.core.http import check_version
from supplytrack.core.identity import Actor
from supplytrack.core.time import utcnow


@dataclass(frozen=True, slots=True)
class CalendarView:
    """A calendar as the API shows it."""

    project_id: int
    working_weekdays: list[str]
    holidays: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0


class CalendarService:
    """Read and replace a project's working-day calendar."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.calendars = CalendarRepository(session, actor)

    def view(self, project_id: int) -> CalendarView:
        """The calendar of a (visible) project: the default when it was never changed."""
        row = self.calendars.get(project_id)
        if row is None:
            return CalendarView(project_id, names_of(MONDAY_TO_FRIDAY_MASK))
        holidays = [{"date": h.day, "name": h.name} for h in self.calendars.holidays(project_id)]
        return CalendarView(project_id, names_of(row.working_weekdays), holidays, row.version)

    def view_between(self, project_id: int, start: date | None, end: date | None) -> CalendarView:
        """The calendar of a (visible) project with only its holidays from start to end."""
        row = self.calendars.get(project_id)
        if row is None:
            return CalendarView(project_id, names_of(MONDAY_TO_FRIDAY_MASK))
        holidays = [
            {"date": h.day, "name": h.name}
            for h in self.calendars.holidays_between(project_id, start, end)
        ]
        return CalendarView(project_id, names_of(row.working_weekdays), holidays, row.version)

    def replace(
        self, project_id: int, command: CalendarUpdate, expected_version: int | None
    ) -> CalendarView:
        """Replace the calendar of a (visible, locked) project; old and new values audited."""
        before = self.view(project_id)
        check_version(before.version, expected_version, f"calendar of project {project_id}")
        mask = mask_of(command.working_weekdays)
        ordered: list[tuple[date, str | None]] = sorted(
            {holiday.date: holiday.name for holiday in command.holidays}.items()
        )
        if mask == mask_of(before.working_weekdays) and ordered == [
            (h["date"], h["name"]) for h in before.holidays
        ]:
            return before
        row = self.calendars.get(project_id, for_update=True)
        if row is None:
            self.calendars.add(ProjectCalendar(project_id=project_id, working_weekdays=mask))
        else:
            row.working_weekdays = mask
            if mask == mask_of(before.working_weekdays):
                row.updated_at = utcnow()  # holidays alone are a change of the calendar too
            self.session.flush()
        self.calendars.replace_holidays(project_id, ordered)
        AuditService(self.session, self.actor).log(
            AuditEntity.CALENDAR,
            project_id,
            [
                ("workingWeekdays", ",".join(before.working_weekdays), ",".join(names_of(mask))),
                (
                    "holidays",
                    ",".join(str(h["date"]) for h in before.holidays),
                    ",".join(str(day) for day, _ in ordered),
                ),
            ],
            source=ChangeSource.API,
            why=Why(reason=command.reason, change_id=new_change_id()),
        )
        return self.view(project_id)

    def delete_of_project(self, project_id: int) -> None:
        """Delete the calendar of a project being deleted (its holidays go with it), audited."""
        if self.calendars.get(project_id) is not None:
            view = self.view(project_id)
            AuditService(self.session, self.actor).deleted(
                AuditEntity.CALENDAR,
                project_id,
                {"workingWeekdays": view.working_weekdays, "holidays": view.holidays},
            )
        self.calendars.delete_of_project(project_id)
