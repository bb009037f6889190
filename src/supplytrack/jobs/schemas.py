"""API shapes of jobs."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from supplytrack.core.schemas import ReadModel
from supplytrack.jobs.models import JobState


class JobRead(ReadModel):
    """A long operation's progress."""

    id: int = Field(description="Job id.")
    kind: str = Field(description="What it does, e.g. bulk-dates or bulk-status.")
    state: JobState = Field(description="QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED.")
    total: int = Field(description="Rows it will process.")
    processed: int = Field(description="Rows processed so far.")
    failed: int = Field(description="Rows that could not be processed.")
    cancel_requested: bool = Field(description="Cancellation asked; it stops after the chunk.")
    created_at: datetime = Field(description="When it was queued.")
    started_at: datetime | None = Field(description="When a worker started it.")
    finished_at: datetime | None = Field(description="When it ended.")
    rate: float | None = Field(description="Rows per second so far.")
    bulk_operation_id: int | None = Field(description="The bulk operation it applies.")
    error: str | None = Field(description="Why it failed.")
