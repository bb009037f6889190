"""Every query of project calendars and holidays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, insert, select

from supplytrack.calendars.models import ProjectCalendar, ProjectHoliday
from supplytrack.core.repository import Repository


class CalendarRepository(Repository[ProjectCalendar]):
    """Calendars (visibility is the project's: callers check the project first)."""

    model = ProjectCalendar

    def holidays(self, project_id: int) -> Sequence[ProjectHoliday]:
        """The project's holidays in date order."""
        stmt = (
            select(ProjectHoliday)
            .where(ProjectHoliday.project_id == project_id)
            .order_by(ProjectHoliday.day)
        )
        return self.session.scalars(stmt).all()

    def holidays_between(
        self, project_id: int, start: date | None, end: date | None
    ) -> Sequence[ProjectHoliday]:
        """The project's holidays from ``start`` to ``end`` (inclusive; None: open), by date."""
        stmt = select(ProjectHoliday).where(ProjectHoliday.project_id == project_id)
        if start is not None:
            stmt = stmt.where(ProjectHoliday.day >= start)
        if end is not None:
            stmt = stmt.where(ProjectHoliday.day <= end)
        return self.session.scalars(stmt.order_by(ProjectHoliday.day)).all()

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

    def delete_of_project(self, project_id: int) -> None:
        """Delete a project's holidays and calendar row."""
        for stmt in (
            delete(ProjectHoliday).where(ProjectHoliday.project_id == project_id),
            delete(ProjectCalendar).where(ProjectCalendar.project_id == project_id),
        ):
            self.session.execute(stmt, execution_options={"synchronize_session": False})
