"""Every query of the jobs table."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from supplytrack.jobs.models import Job, JobState

_LIVE = (JobState.QUEUED, JobState.RUNNING)


class JobRepository:
    """Jobs (visibility: staff only, checked by the routes)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, job_id: int, *, for_update: bool = False) -> Job | None:
        """One job."""
        stmt = select(Job).where(Job.id == job_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def add(self, job: Job) -> Job:
        """Insert a job."""
        self.session.add(job)
        self.session.flush()
        return job

    def claim(
        self, job_id: int, owner: str, now: datetime, lease: timedelta, dead_owners: list[str]
    ) -> bool:
        """Take a queued job, or a running one whose worker went silent or died."""
        stale = now - lease
        result = self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.state.in_(_LIVE),
                or_(
                    Job.owner.is_(None),
                    Job.owner == owner,
                    Job.heartbeat_at < stale,
                    Job.owner.in_(dead_owners),
                ),
            )
            .values(owner=owner, heartbeat_at=now, state=JobState.RUNNING, version=Job.version + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def unattended(
        self, queued_before: datetime, stale_before: datetime, dead_owners: list[str]
    ) -> list[int]:
        """Jobs nobody is running.

        Queued since before ``queued_before`` (their wake-up call was lost or is late), or
        running with a lease that expired or a worker that died.
        """
        stmt = (
            select(Job.id)
            .where(
                or_(
                    and_(Job.state == JobState.QUEUED, Job.created_at < queued_before),
                    and_(
                        Job.state == JobState.RUNNING,
                        or_(
                            Job.heartbeat_at.is_(None),
                            Job.heartbeat_at < stale_before,
                            Job.owner.in_(dead_owners),
                        ),
                    ),
                )
            )
            .order_by(Job.id)
        )
        return list(self.session.scalars(stmt))

    def latest(self, kind: str, *, finished: bool = False) -> Job | None:
        """The newest job of ``kind`` (only those that ended, when ``finished``)."""
        stmt = select(Job).where(Job.kind == kind)
        if finished:
            stmt = stmt.where(Job.finished_at.is_not(None))
        return self.session.scalars(stmt.order_by(Job.id.desc()).limit(1)).first()

    def counts_by_state(self) -> dict[str, int]:
        """How many jobs are in each state (states without jobs left out)."""
        rows = self.session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
        return {str(state): int(count) for state, count in rows}

    def recent(self, limit: int) -> list[Job]:
        """The newest jobs, newest first."""
        return list(self.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))

    def live(self) -> list[Job]:
        """Jobs that are queued or running (for recovery when a worker starts)."""
        stmt = select(Job).where(Job.state.in_(_LIVE)).order_by(Job.id)
        return list(self.session.scalars(stmt))
