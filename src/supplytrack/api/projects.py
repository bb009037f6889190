"""HTTP routes of projects (thin: parse, authorise, call the service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from supplytrack.api.cached import PROJECTS, cached_model
from supplytrack.api.deps import AnyActor, AppSettings, DbSession, Manager, flow_of
from supplytrack.api.params import project_sort
from supplytrack.core.http import expected_version, set_etag
from supplytrack.core.openapi import Cursor, IfMatch, Limit, PathId, responses
from supplytrack.core.pagination import DEFAULT_LIMIT, Sort, page_of
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import Page, full_update
from supplytrack.flows.projects import ProjectFlows
from supplytrack.projects.models import ProjectStatus
from supplytrack.projects.schemas import ProjectCreate, ProjectRead, ProjectUpdate
from supplytrack.projects.service import ProjectService

router = APIRouter(prefix="/api/projects", tags=["projects"], route_class=UnitOfWorkRoute)


def _one(response: Response, project: object) -> ProjectRead:
    read = ProjectRead.model_validate(project)
    set_etag(response, read.version)
    return read


@router.get("", responses=responses(403, 422))
def list_projects(
    request: Request,
    actor: AnyActor,
    session: DbSession,
    sort: Annotated[Sort, Depends(project_sort)],
    status_filter: Annotated[
        ProjectStatus | None, Query(alias="status", description="Only in this status.")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="Code or name contains.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ProjectRead]:
    """List projects (a supplier sees those it is assigned to)."""

    def create() -> Page[ProjectRead]:
        rows = ProjectService(session, actor).page(
            status=status_filter, search=q, sort=sort, cursor=cursor, limit=limit
        )
        items, next_cursor = page_of(rows, sort, limit)
        return Page[ProjectRead](
            items=[ProjectRead.model_validate(row) for row in items], next_cursor=next_cursor
        )

    return cached_model(request, actor, "projects", PROJECTS, Page[ProjectRead], create)


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(403, 409, 422))
def create_project(
    body: ProjectCreate, actor: Manager, session: DbSession, response: Response
) -> ProjectRead:
    """Create a project."""
    project = ProjectService(session, actor).create(body)
    response.headers["Location"] = f"/api/projects/{project.id}"
    return _one(response, project)


@router.get("/{project_id}", responses=responses(403, 404, 422))
def get_project(
    request: Request, project_id: PathId, actor: AnyActor, session: DbSession, response: Response
) -> ProjectRead:
    """One project, with its ETag."""

    def create() -> ProjectRead:
        return ProjectRead.model_validate(ProjectService(session, actor).get(project_id))

    read = cached_model(request, actor, "projects", PROJECTS, ProjectRead, create)
    set_etag(response, read.version)
    return read


@router.patch("/{project_id}", responses=responses(403, 404, 409, 412, 422))
def update_project(
    project_id: PathId,
    body: ProjectUpdate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> ProjectRead:
    """Change some fields of a project (a new window must hold every milestone)."""
    project = ProjectFlows(flow_of(session, actor, settings)).update(
        project_id, body, expected_version(if_match)
    )
    return _one(response, project)


@router.put("/{project_id}", responses=responses(403, 404, 409, 412, 422))
def replace_project(
    project_id: PathId,
    body: ProjectCreate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> ProjectRead:
    """Replace every field of a project."""
    project = ProjectFlows(flow_of(session, actor, settings)).update(
        project_id, full_update(body, ProjectUpdate), expected_version(if_match)
    )
    return _one(response, project)


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(403, 404, 409, 412, 422),
)
def delete_project(
    project_id: PathId,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    if_match: IfMatch = None,
) -> Response:
    """Delete a project on which no work was recorded (409 otherwise: archive it)."""
    ProjectFlows(flow_of(session, actor, settings)).delete(project_id, expected_version(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
