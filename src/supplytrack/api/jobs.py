"""HTTP routes of jobs."""

from __future__ import annotations

from fastapi import APIRouter

from supplytrack.api.deps import DbSession, Manager, StaffReader
from supplytrack.core.openapi import PathId, responses
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.jobs.schemas import JobRead
from supplytrack.jobs.service import JobService

router = APIRouter(prefix="/api/jobs", tags=["jobs"], route_class=UnitOfWorkRoute)


@router.get("/{job_id}", responses=responses(403, 404, 422))
def get_job(job_id: PathId, actor: StaffReader, session: DbSession) -> JobRead:
    """Progress of a long operation: state, counts, timing and rate."""
    service = JobService(session, actor)
    return JobRead.model_validate(service.view(service.get(job_id)))


@router.delete("/{job_id}", responses=responses(403, 404, 409, 422))
def cancel_job(job_id: PathId, actor: Manager, session: DbSession) -> JobRead:
    """Cancel a job: it stops after the chunk it is working on (already applied chunks stay)."""
    service = JobService(session, actor)
    return JobRead.model_validate(service.view(service.cancel(job_id)))
