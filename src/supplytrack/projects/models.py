"""The projects table."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Computed, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import (
    Base,
    UTCDateTime,
    VersionedMixin,
    enum_column,
    version_check,
)


class ProjectStatus(enum.StrEnum):
    """Life cycle of a launch program."""

    PLANNING = "PLANNING"
    ACTIVE = "ACTIVE"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"
    ARCHIVED = "ARCHIVED"


CLOSED_PROJECT_STATUSES = frozenset({ProjectStatus.COMPLETED, ProjectStatus.ARCHIVED})


class Project(VersionedMixin, Base):
    """One launch program (a vehicle, a machine, an appliance)."""

    __tablename__ = "projects"
    __table_args__ = (
        version_check(),
        CheckConstraint(
            "start_date IS NULL OR sop_date IS NULL OR sop_date >= start_date",
            name="sop_not_before_start",
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # "EV-2028-A" and "ev-2028-a " are one code to the people who type them: unique too.
    code_key: Mapped[str] = mapped_column(
        String(64), Computed("lower(trim(code))", persisted=True), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus, "status"), default=ProjectStatus.PLANNING
    )
    start_date: Mapped[date | None] = mapped_column(Date)
    sop_date: Mapped[date | None] = mapped_column(Date)
    # When it last became COMPLETED or ARCHIVED (None while open): retention counts from it.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Years its records are kept after closing (None: RETENTION_YEARS), for customers who ask.
    retention_years: Mapped[int | None] = mapped_column(Integer)
