"""The rules of project calendars: default Monday to Friday, edits audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import AuditService, Why, new_change_id
from supplytrack.auth.actor import Actor
from supplytrack.calendars.models import MONDAY_TO_FRIDAY_MASK, ProjectCalendar
from supplytrack.calendars.repository import CalendarRepository
from supplytrack.calendars.workdays import WEEKDAY_NAMES, WorkCalendar
from supplytrack.core.http import check_version
from supplytrack.projects.service import ProjectService


def mask_of(weekday_names: list[str]) -> int:
    """The bit mask of weekday names (bit 0 = Monday)."""
    return sum(1 << WEEKDAY_NAMES.index(name) for name in set(weekday_names))


def names_of(mask: int) -> list[str]:
    """Weekday names of a bit mask, Monday first."""
    return [name for index, name in enumerate(WEEKDAY_NAMES) if mask & (1 << index)]


class CalendarView:
    """A calendar as the API shows it."""

    def __init__(
        self, project_id: int, mask: int, holidays: list[tuple[date, str | None]], version: int
    ) -> None:
        self.project_id = project_id
        self.working_weekdays = names_of(mask)
        self.holidays = [{"date": day, "name": name} for day, name in holidays]
        self.version = version
        self.calendar = WorkCalendar(
            frozenset(i for i in range(7) if mask & (1 << i)), frozenset(d for d, _ in holidays)
        )


class CalendarService:
    """Read and replace a project's working-day calendar."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.calendars = CalendarRepository(session, actor)

    def view(self, project_id: int) -> CalendarView:
        """The calendar of a visible project (the default when it was never changed)."""
        ProjectService(self.session, self.actor).get(project_id)
        return self._view(project_id)

    def calendar(self, project_id: int) -> WorkCalendar:
        """The working-day calendar of a project (no visibility check: for services)."""
        return self._view(project_id).calendar

    def _view(self, project_id: int) -> CalendarView:
        row = self.calendars.get(project_id)
        if row is None:
            return CalendarView(project_id, MONDAY_TO_FRIDAY_MASK, [], 0)
        holidays = [(h.day, h.name) for h in self.calendars.holidays(project_id)]
        return CalendarView(project_id, row.working_weekdays, holidays, row.version)

    def replace(
        self,
        project_id: int,
        weekdays: list[str],
        holidays: list[tuple[date, str | None]],
        *,
        reason: str | None,
        expected_version: int | None,
    ) -> CalendarView:
        """Replace the calendar; the old and new values go to the audit log."""
        ProjectService(self.session, self.actor).get(project_id, for_update=True)
        before = self._view(project_id)
        check_version(before.version, expected_version, f"calendar of project {project_id}")
        mask = mask_of(weekdays)
        ordered = sorted(dict(holidays).items())
        if mask == mask_of(before.working_weekdays) and ordered == [
            (h["date"], h["name"]) for h in before.holidays
        ]:
            return before
        row = self.calendars.get(project_id, for_update=True)
        if row is None:
            self.calendars.add(ProjectCalendar(project_id=project_id, working_weekdays=mask))
        else:
            row.working_weekdays = mask
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
            why=Why(reason=reason, change_id=new_change_id()),
        )
        return self._view(project_id)
