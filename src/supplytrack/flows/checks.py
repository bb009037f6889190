"""Data checks as a job: one check per chunk, results kept on the job, run on demand or on a clock.

A run is a job of kind DATA_CHECKS (so it has progress, survives a worker's crash and is
counted by the job metrics); each chunk runs one check and appends its result to the job's
``result``. ``supplytrack check``, ``POST /api/data-checks`` and the workers' schedule
(DATA_CHECK_INTERVAL_MINUTES) all start one the same way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.identity import Actor, system_actor
from supplytrack.core.settings import Settings
from supplytrack.core.time import today, utcnow
from supplytrack.integrity.checks import (
    BY_NAME,
    CHECKS,
    CONSISTENCY,
    Check,
    CheckContext,
    run_check,
)
from supplytrack.jobs.models import Job
from supplytrack.jobs.runner import ChunkResult, JobRunner, prepared
from supplytrack.jobs.service import JobService
from supplytrack.jobs.worker import JobQueue

DATA_CHECK_JOB = "DATA_CHECKS"
SOURCES = ("CLI", "API", "SCHEDULE")
# Any constant works: it only keeps two workers' schedules from starting a run each.
_SCHEDULE_LOCK = 0x5D_A7_AC_4E


def context_of(settings: Settings) -> CheckContext:
    """What the checks measure against: today in APP_TIMEZONE, now, the staleness window."""
    return CheckContext(today(settings.app_timezone), utcnow(), settings.data_quality_stale_days)


def start_checks(session: Session, actor: Actor, source: str, queue: JobQueue | None = None) -> Job:
    """Queue a run of every check (handed to ``queue`` once the transaction commits)."""
    names = [check.name for check in CHECKS]
    job = JobService(session, actor).create(
        DATA_CHECK_JOB, len(names), {"checks": names, "source": source}
    )
    if queue is not None:
        queue.submit(session, job.id)
    return job


def _next(job: Job) -> tuple[int, Check]:
    names: list[str] = job.payload["checks"]
    index = 0 if job.cursor is None else job.cursor + 1
    return index, BY_NAME[names[index]]


def prepare_check(session: Session, job: Job, settings: Settings) -> dict[str, Any]:
    """Run the next check, in the read-only transaction before the chunk's."""
    return run_check(session, _next(job)[1], context_of(settings))


def process_check_chunk(session: Session, job: Job, _settings: Settings) -> ChunkResult:
    """Add the next check's result (run by ``prepare_check``) to the job's."""
    names: list[str] = job.payload["checks"]
    index, check = _next(job)
    outcome: dict[str, Any] = prepared(session)
    earlier = list((job.result or {}).get("checks", []))
    job.result = {"checks": [*earlier, outcome]}  # a new value: the JSON column is written
    failed = 1 if outcome["failures"] and check.kind == CONSISTENCY else 0
    return ChunkResult(index, 1 - failed, failed, index + 1 >= len(names))


def finish_checks(_session: Session, job: Job) -> None:
    """Sum the run up: consistency failures and quality findings."""
    checks = list((job.result or {}).get("checks", []))
    job.result = {**totals(checks), "checks": checks}


def totals(checks: list[dict[str, Any]]) -> dict[str, int]:
    """Rows failing consistency checks, and rows found by quality checks."""
    return {
        "failures": sum(c["failures"] for c in checks if c["kind"] == CONSISTENCY),
        "findings": sum(c["failures"] for c in checks if c["kind"] != CONSISTENCY),
    }


def run_view(job: Job) -> dict[str, Any]:
    """A run as the API shows it."""
    checks = list((job.result or {}).get("checks", []))
    return {
        "job_id": job.id,
        "state": job.state,
        "source": job.payload.get("source"),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        **totals(checks),
        "checks": checks,
    }


def start_scheduled(database: Database) -> int | None:
    """Queue a scheduled run when the last one is older than the interval; its job id.

    Every worker's clock calls this each minute; the first to find a run due queues it, the
    others (serialised by an advisory lock on PostgreSQL, by the single writer on SQLite)
    find it and do nothing.
    """
    minutes = database.settings.data_check_interval_minutes
    if minutes <= 0:
        return None

    def due(session: Session) -> int | None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEDULE_LOCK})
        jobs = JobService(session, system_actor("data-checks"))
        last = jobs.latest(DATA_CHECK_JOB)
        if last is not None and last.created_at > utcnow() - timedelta(minutes=minutes):
            return None
        return start_checks(session, jobs.actor, "SCHEDULE").id

    return database.run(due)


def run_scheduled(database: Database) -> None:
    """The workers' clock: start a run when one is due and run it in this worker."""
    job_id = start_scheduled(database)
    if job_id is not None:
        JobRunner(database).run(job_id)


def latest_finished(session: Session, actor: Actor) -> Job | None:
    """The newest run that ended."""
    return JobService(session, actor).latest(DATA_CHECK_JOB, finished=True)
