"""HTTP routes of task templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from supplytrack.api.cached import TEMPLATES, cached_model
from supplytrack.api.deps import AnyActor, AppSettings, DbSession, Manager, flow_of
from supplytrack.api.params import template_sort
from supplytrack.core.http import expected_version, set_etag
from supplytrack.core.openapi import Cursor, IfMatch, Limit, PathId, responses
from supplytrack.core.pagination import DEFAULT_LIMIT, Sort, page_of
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import Page
from supplytrack.flows.milestones import MilestoneFlows
from supplytrack.templates.schemas import (
    TemplateCreate,
    TemplateCreated,
    TemplateRead,
    TemplateUpdate,
)
from supplytrack.templates.service import TemplateService, TemplateView

router = APIRouter(tags=["task templates"], route_class=UnitOfWorkRoute)
_COLUMNS = (
    "id",
    "project_id",
    "name",
    "description",
    "canonical_due",
    "sequence",
    "required_capability",
    "created_at",
    "updated_at",
    "version",
)


def _read(view: TemplateView) -> TemplateRead:
    template, depends_on = view
    return TemplateRead.model_validate(
        {**{name: getattr(template, name) for name in _COLUMNS}, "depends_on": depends_on}
    )


def _one(response: Response, view: TemplateView) -> TemplateRead:
    read = _read(view)
    set_etag(response, read.version)
    return read


@router.get("/api/projects/{project_id}/task-templates", responses=responses(403, 404, 422))
def list_templates(
    request: Request,
    project_id: PathId,
    actor: AnyActor,
    session: DbSession,
    settings: AppSettings,
    sort: Annotated[Sort, Depends(template_sort)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TemplateRead]:
    """The milestones of a project with their prerequisites."""

    def create() -> Page[TemplateRead]:
        views = MilestoneFlows(flow_of(session, actor, settings)).page(
            project_id, sort=sort, cursor=cursor, limit=limit
        )
        templates, next_cursor = page_of([view[0] for view in views], sort, limit)
        return Page[TemplateRead](
            items=[_read(view) for view in views[: len(templates)]], next_cursor=next_cursor
        )

    return cached_model(request, actor, "templates", TEMPLATES, Page[TemplateRead], create)


@router.post(
    "/api/projects/{project_id}/task-templates",
    status_code=status.HTTP_201_CREATED,
    responses=responses(403, 404, 409, 422),
)
def create_template(
    project_id: PathId,
    body: TemplateCreate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> TemplateCreated:
    """Add a milestone; it fans out to every active supplier that has the capability."""
    view, created = MilestoneFlows(flow_of(session, actor, settings)).add(project_id, body)
    response.headers["Location"] = f"/api/task-templates/{view[0].id}"
    read = _one(response, view)
    return TemplateCreated.model_validate({**read.model_dump(), "instances_created": created})


@router.get("/api/task-templates/{template_id}", responses=responses(403, 404, 422))
def get_template(
    request: Request, template_id: PathId, actor: AnyActor, session: DbSession, response: Response
) -> TemplateRead:
    """One milestone with its prerequisites and ETag."""

    def create() -> TemplateRead:
        service = TemplateService(session, actor)
        return _read(service.view(service.get(template_id)))

    read = cached_model(request, actor, "templates", TEMPLATES, TemplateRead, create)
    set_etag(response, read.version)
    return read


@router.patch("/api/task-templates/{template_id}", responses=responses(403, 404, 409, 412, 422))
def update_template(
    template_id: PathId,
    body: TemplateUpdate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateRead:
    """Change some fields of a milestone (dependsOn, when given, replaces the set)."""
    view = MilestoneFlows(flow_of(session, actor, settings)).change(
        template_id, body, expected_version(if_match)
    )
    return _one(response, view)


@router.delete(
    "/api/task-templates/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(403, 404, 409, 412, 422),
)
def delete_template(
    template_id: PathId,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    if_match: IfMatch = None,
) -> Response:
    """Delete a milestone no supplier has worked on and no milestone depends on."""
    MilestoneFlows(flow_of(session, actor, settings)).delete(
        template_id, expected_version(if_match)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
