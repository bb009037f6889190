"""Every query of project calendars and holidays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, insert, select

from supplytrack.calendars.models import ProjectCalendar, ProjectHoliday
from supplytrack.core.repository import Repository


class CalendarRepository(Repository):
    """Calendars (visibility is the project's: callers check the project first)."""

    def get(self, project_id: int, *, for_update: bool = False) -> ProjectCalendar | None:
        """The project's calendar row, if it was ever changed."""
        stmt = select(ProjectCalendar).where(ProjectCalendar.project_id == project_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def holidays(self, project_id: int) -> Sequence[ProjectHoliday]:
        """The project's holidays in date order."""
        stmt = (
            select(ProjectHoliday)
            .where(ProjectHoliday.project_id == project_id)
            .order_by(ProjectHoliday.day)
        )
        return self.session.scalars(stmt).all()

    def add(self, calendar: ProjectCalendar) -> ProjectCalendar:
        """Insert a calendar row."""
        self.session.add(calendar)
        self.session.flush()
        return calendar

    def replace_holidays(
        self, project_id: int, holidays: Sequence[tuple[date, str | None]]
    ) -> None:
        """Make the project's holidays exactly ``holidays``."""
        self.session.execute(delete(ProjectHoliday).where(ProjectHoliday.project_id == project_id))
        if holidays:
            self.session.execute(
                insert(ProjectHoliday),
                [{"project_id": project_id, "day": day, "name": name} for day, name in holidays],
            )
