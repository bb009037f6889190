"""HTTP routes of data checks: start a run (a job), read the newest or one run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from supplytrack.api.deps import Admin, DbSession
from supplytrack.core.errors import NotFound
from supplytrack.core.openapi import PathId, responses
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.flows.checks import DATA_CHECK_JOB, latest_finished, run_view, start_checks
from supplytrack.integrity.schemas import DataCheckRun
from supplytrack.jobs.service import JobService
from supplytrack.jobs.worker import job_queue

router = APIRouter(prefix="/api/data-checks", tags=["data checks"], route_class=UnitOfWorkRoute)

_QUEUED: dict[int | str, dict[str, Any]] = {202: {"description": "Queued as a job (see jobId)."}}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**responses(403, 413, 422, 429), **_QUEUED},
)
def start_data_checks(
    request: Request, response: Response, actor: Admin, session: DbSession
) -> DataCheckRun:
    """Run every data check now, as a job; poll GET /api/data-checks/{jobId} for the results."""
    job = start_checks(session, actor, "API", job_queue(request.app.state.database))
    session.flush()
    response.headers["Location"] = f"/api/data-checks/{job.id}"
    return DataCheckRun.model_validate(run_view(job))


@router.get("/latest", responses=responses(403, 404, 422))
def latest_data_checks(actor: Admin, session: DbSession) -> DataCheckRun:
    """The newest run that ended (404 before the first): every check, its count and examples."""
    job = latest_finished(session, actor)
    if job is None:
        raise NotFound("data check run", "latest")
    return DataCheckRun.model_validate(run_view(job))


@router.get("/{job_id}", responses=responses(403, 404, 422))
def get_data_checks(job_id: PathId, actor: Admin, session: DbSession) -> DataCheckRun:
    """One run, finished or under way (the checks done so far)."""
    job = JobService(session, actor).get_of_kind(job_id, DATA_CHECK_JOB)
    return DataCheckRun.model_validate(run_view(job))
