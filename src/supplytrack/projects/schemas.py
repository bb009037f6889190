"""API shapes of projects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import Field, model_validator

from supplytrack.core.schemas import Code, IsoDate, LongText, Name, ReadModel, WriteModel
from supplytrack.projects.models import ProjectStatus

# IATF 16949 7.5.3.2.1: kept while the part is active plus one calendar year, or longer when
# the customer asks; counted from when the project became COMPLETED or ARCHIVED.
RetentionYears = Annotated[
    int | None,
    Field(
        ge=1,
        le=100,
        description="Years its records are kept after closing, when longer than RETENTION_YEARS.",
    ),
]


def _check_window(start: date | None, sop: date | None) -> None:
    if start is not None and sop is not None and sop < start:
        msg = "sopDate must not be before startDate"
        raise ValueError(msg)


class ProjectCreate(WriteModel):
    """A new launch program (also the full body of PUT)."""

    code: Code = Field(description="Unique program code, e.g. 'EV-2027'.")
    name: Name = Field(description="Program name.")
    description: LongText | None = Field(None, description="Free text.")
    status: ProjectStatus = Field(ProjectStatus.PLANNING, description="Life-cycle status.")
    start_date: IsoDate | None = Field(None, description="First day of the program.")
    sop_date: IsoDate | None = Field(None, description="Start of production (SOP).")
    retention_years: RetentionYears = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        _check_window(self.start_date, self.sop_date)
        return self


class ProjectUpdate(WriteModel):
    """A partial change: only the fields given are changed (null clears optional ones)."""

    code: Code | None = Field(None, description="Unique program code.")
    name: Name | None = Field(None, description="Program name.")
    description: LongText | None = Field(None, description="Free text.")
    status: ProjectStatus | None = Field(None, description="Life-cycle status.")
    start_date: IsoDate | None = Field(None, description="First day of the program.")
    sop_date: IsoDate | None = Field(None, description="Start of production (SOP).")
    retention_years: RetentionYears = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        _check_window(self.start_date, self.sop_date)
        for required in ("code", "name", "status"):
            if required in self.model_fields_set and getattr(self, required) is None:
                msg = f"{required} cannot be null"
                raise ValueError(msg)
        return self


class ProjectRead(ReadModel):
    """A project."""

    id: int = Field(description="Project id.")
    code: str = Field(description="Unique program code.")
    name: str = Field(description="Program name.")
    description: str | None = Field(description="Free text.")
    status: ProjectStatus = Field(description="Life-cycle status.")
    start_date: date | None = Field(description="First day of the program.")
    sop_date: date | None = Field(description="Start of production (SOP).")
    retention_years: int | None = Field(
        description="Years its records are kept after closing, when longer than RETENTION_YEARS."
    )
    closed_at: datetime | None = Field(
        description="When it last became COMPLETED or ARCHIVED (null while open)."
    )
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it last changed.")
    version: int = Field(description="Version, also the ETag.")
