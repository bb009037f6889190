"""API shapes of data checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from supplytrack.core.schemas import ReadModel
from supplytrack.jobs.models import JobState


class CheckResult(ReadModel):
    """One check of a run."""

    name: str = Field(description="The check, e.g. status_matches_history.")
    kind: str = Field(description="consistency (must hold) or quality (worth a look).")
    description: str = Field(description="What it checks.")
    failures: int = Field(description="Rows that break it (0: it holds).")
    examples: list[dict[str, Any]] = Field(description="The first few of those rows.")
    duration_ms: float = Field(description="How long it took.")


class DataCheckRun(ReadModel):
    """A run of the data checks (a job of kind DATA_CHECKS)."""

    job_id: int = Field(description="Its job (GET /api/jobs/{id} shows its progress).")
    state: JobState = Field(description="QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED.")
    source: str | None = Field(description="What started it: CLI, API or SCHEDULE.")
    created_at: datetime = Field(description="When it was queued.")
    started_at: datetime | None = Field(description="When a worker started it.")
    finished_at: datetime | None = Field(description="When it ended.")
    failures: int = Field(description="Rows failing consistency checks (0: all hold).")
    findings: int = Field(description="Rows found by quality checks.")
    checks: list[CheckResult] = Field(description="Each check run so far, in order.")
