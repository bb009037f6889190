"""The rules of jobs: create, read with progress, cancel after the current chunk."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity
from supplytrack.audit.service import AuditService
from supplytrack.core.errors import Conflict, NotFound
from supplytrack.core.identity import Actor
from supplytrack.core.time import utcnow
from supplytrack.jobs.models import Job, JobState
from supplytrack.jobs.repository import JobRepository

FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class JobService:
    """Jobs as the API shows them."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.jobs = JobRepository(session)

    def create(self, kind: str, total: int, payload: dict[str, Any]) -> Job:
        """Queue a job (the caller enqueues it once the transaction commits)."""
        return self.jobs.add(
            Job(
                kind=kind,
                total=total,
                payload=payload,
                state=JobState.QUEUED,
                created_by=self.actor.token_id,
            )
        )

    def get(self, job_id: int) -> Job:
        """One job (404 when missing)."""
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound("job", job_id)
        return job

    def get_of_kind(self, job_id: int, kind: str) -> Job:
        """One job of ``kind`` (404 when missing or of another kind)."""
        job = self.jobs.get(job_id)
        if job is None or job.kind != kind:
            raise NotFound("job", job_id)
        return job

    def latest(self, kind: str, *, finished: bool = False) -> Job | None:
        """The newest job of ``kind`` (only those that ended, when ``finished``)."""
        return self.jobs.latest(kind, finished=finished)

    def counts_by_state(self) -> dict[str, int]:
        """How many jobs are in each state, every state named (0 when none)."""
        found = self.jobs.counts_by_state()
        return {state.value: found.get(state.value, 0) for state in JobState}

    def recent(self, limit: int = 10) -> list[Job]:
        """The newest jobs, newest first (for the operations page)."""
        return self.jobs.recent(limit)

    def view(self, job: Job) -> dict[str, Any]:
        """A job with its rate and bulk operation."""
        rate = None
        if job.started_at is not None and job.processed:
            elapsed = ((job.finished_at or utcnow()) - job.started_at).total_seconds()
            rate = round(job.processed / elapsed, 1) if elapsed > 0 else None
        return {
            **{
                name: getattr(job, name)
                for name in (
                    "id",
                    "kind",
                    "state",
                    "total",
                    "processed",
                    "failed",
                    "cancel_requested",
                    "created_at",
                    "started_at",
                    "finished_at",
                    "error",
                )
            },
            "rate": rate,
            "bulk_operation_id": job.payload.get("bulkOperationId"),
        }

    def cancel(self, job_id: int) -> Job:
        """Ask a job to stop: a queued one stops now, a running one after its chunk."""
        job = self.jobs.get(job_id, for_update=True)
        if job is None:
            raise NotFound("job", job_id)
        if job.state in FINISHED:
            raise Conflict(f"job {job_id} already ended ({job.state})", code="JOB_FINISHED")
        before = {"cancelRequested": job.cancel_requested, "state": job.state}
        job.cancel_requested = True
        if job.state == JobState.QUEUED:
            job.state = JobState.CANCELLED
            job.finished_at = utcnow()
        self.session.flush()
        AuditService(self.session, self.actor).changed(
            AuditEntity.JOB,
            job.id,
            before,
            {"cancelRequested": job.cancel_requested, "state": job.state},
        )
        return job
