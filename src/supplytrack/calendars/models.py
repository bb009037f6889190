"""The project_calendars and project_holidays tables (no row: Monday to Friday, no holidays)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.calendars.weekdays import MONDAY_TO_FRIDAY_MASK
from supplytrack.core.models import Base, VersionedMixin, version_check


class ProjectCalendar(VersionedMixin, Base):
    """A project's working weekdays, as a bit mask (bit 0 = Monday ... bit 6 = Sunday)."""

    __tablename__ = "project_calendars"
    __table_args__ = (
        version_check(),
        CheckConstraint("working_weekdays BETWEEN 1 AND 127", name="weekdays_mask"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    working_weekdays: Mapped[int] = mapped_column(Integer, default=MONDAY_TO_FRIDAY_MASK)


class ProjectHoliday(Base):
    """A day the project's suppliers do not work."""

    __tablename__ = "project_holidays"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project_calendars.project_id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
