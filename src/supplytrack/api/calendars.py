"""HTTP routes of project calendars."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from supplytrack.api.cached import CALENDARS, cached_model
from supplytrack.api.deps import AnyActor, AppSettings, DbSession, Manager, flow_of
from supplytrack.calendars.schemas import CalendarRead, CalendarUpdate
from supplytrack.calendars.service import CalendarView
from supplytrack.core.http import expected_version, set_etag
from supplytrack.core.openapi import IfMatch, PathId, responses
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.flows.projects import ProjectFlows

router = APIRouter(
    prefix="/api/projects/{project_id}/calendar", tags=["calendars"], route_class=UnitOfWorkRoute
)


def _one(response: Response, view: CalendarView) -> CalendarRead:
    read = CalendarRead.model_validate(view)
    set_etag(response, read.version)
    return read


@router.get("", responses=responses(403, 404, 422))
def get_calendar(
    request: Request,
    project_id: PathId,
    actor: AnyActor,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> CalendarRead:
    """The project's working weekdays and holidays."""

    def create() -> CalendarRead:
        view = ProjectFlows(flow_of(session, actor, settings)).calendar(project_id)
        return CalendarRead.model_validate(view)

    read = cached_model(request, actor, "calendars", CALENDARS, CalendarRead, create)
    set_etag(response, read.version)
    return read


@router.put("", responses=responses(403, 404, 412, 422))
def replace_calendar(
    project_id: PathId,
    body: CalendarUpdate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> CalendarRead:
    """Replace the project's calendar (audited); shifts in working days follow it."""
    view = ProjectFlows(flow_of(session, actor, settings)).replace_calendar(
        project_id, body, expected_version(if_match)
    )
    return _one(response, view)
