"""HTTP routes of suppliers and of their assignments to projects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from supplytrack.api.cached import SUPPLIERS, cached_model
from supplytrack.api.deps import AnyActor, AppSettings, DbSession, Manager, flow_of
from supplytrack.api.params import supplier_sort
from supplytrack.core.http import expected_version, set_etag
from supplytrack.core.openapi import Cursor, IfMatch, Limit, PathId, responses
from supplytrack.core.pagination import (
    DEFAULT_LIMIT,
    Sort,
    decode_id_cursor,
    encode_id_cursor,
    page_of,
)
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import Capability, Page, full_update
from supplytrack.flows.assignments import AssignmentFlows
from supplytrack.flows.suppliers import SupplierFlows
from supplytrack.suppliers.models import AssignmentStatus, SupplierStatus
from supplytrack.suppliers.schemas import (
    AssignmentCreate,
    AssignmentRead,
    AssignmentResult,
    SupplierCreate,
    SupplierRead,
    SupplierUpdate,
)
from supplytrack.suppliers.service import SupplierService, SupplierView

router = APIRouter(prefix="/api/suppliers", tags=["suppliers"], route_class=UnitOfWorkRoute)
assignments_router = APIRouter(
    prefix="/api/projects/{project_id}/suppliers",
    tags=["assignments"],
    route_class=UnitOfWorkRoute,
)


def _read(view: SupplierView) -> SupplierRead:
    supplier, capabilities = view
    return SupplierRead.model_validate(
        {**{c: getattr(supplier, c) for c in _COLUMNS}, "capabilities": capabilities}
    )


_COLUMNS = ("id", "code", "name", "contact_email", "status", "created_at", "updated_at", "version")


def _one(response: Response, view: SupplierView) -> SupplierRead:
    read = _read(view)
    set_etag(response, read.version)
    return read


@router.get("", responses=responses(403, 422))
def list_suppliers(
    request: Request,
    actor: AnyActor,
    session: DbSession,
    sort: Annotated[Sort, Depends(supplier_sort)],
    status_filter: Annotated[
        SupplierStatus | None, Query(alias="status", description="Only in this status.")
    ] = None,
    capability: Annotated[Capability | None, Query(description="Has this capability.")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Code or name contains.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SupplierRead]:
    """List suppliers (a supplier token sees itself only)."""

    def create() -> Page[SupplierRead]:
        views = SupplierService(session, actor).page(
            status=status_filter,
            capability=capability,
            search=q,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
        suppliers, next_cursor = page_of([view[0] for view in views], sort, limit)
        return Page[SupplierRead](
            items=[_read(v) for v in views[: len(suppliers)]], next_cursor=next_cursor
        )

    return cached_model(request, actor, "suppliers", SUPPLIERS, Page[SupplierRead], create)


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(403, 409, 422))
def create_supplier(
    body: SupplierCreate, actor: Manager, session: DbSession, response: Response
) -> SupplierRead:
    """Create a supplier with its capabilities."""
    view = SupplierService(session, actor).create(body)
    response.headers["Location"] = f"/api/suppliers/{view[0].id}"
    return _one(response, view)


@router.get("/{supplier_id}", responses=responses(403, 404, 422))
def get_supplier(
    request: Request, supplier_id: PathId, actor: AnyActor, session: DbSession, response: Response
) -> SupplierRead:
    """One supplier with its capabilities and ETag."""

    def create() -> SupplierRead:
        service = SupplierService(session, actor)
        return _read(service.view(service.get(supplier_id)))

    read = cached_model(request, actor, "suppliers", SUPPLIERS, SupplierRead, create)
    set_etag(response, read.version)
    return read


@router.patch("/{supplier_id}", responses=responses(403, 404, 409, 412, 422))
def update_supplier(
    supplier_id: PathId,
    body: SupplierUpdate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> SupplierRead:
    """Change some fields of a supplier (capabilities, when given, replace the set)."""
    view = SupplierFlows(flow_of(session, actor, settings)).update(
        supplier_id, body, expected_version(if_match)
    )
    return _one(response, view)


@router.put("/{supplier_id}", responses=responses(403, 404, 409, 412, 422))
def replace_supplier(
    supplier_id: PathId,
    body: SupplierCreate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> SupplierRead:
    """Replace every field of a supplier."""
    view = SupplierFlows(flow_of(session, actor, settings)).update(
        supplier_id, full_update(body, SupplierUpdate), expected_version(if_match)
    )
    return _one(response, view)


@router.delete(
    "/{supplier_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(403, 404, 409, 412, 422),
)
def delete_supplier(
    supplier_id: PathId,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    if_match: IfMatch = None,
) -> Response:
    """Delete a supplier with no recorded work (409 otherwise: set it INACTIVE)."""
    SupplierFlows(flow_of(session, actor, settings)).delete(supplier_id, expected_version(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@assignments_router.get("", responses=responses(403, 404, 422))
def list_assignments(
    project_id: PathId,
    actor: AnyActor,
    session: DbSession,
    settings: AppSettings,
    status_filter: Annotated[
        AssignmentStatus | None, Query(alias="status", description="Only in this status.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AssignmentRead]:
    """The suppliers assigned to a project (a supplier token sees its own assignment)."""
    rows = AssignmentFlows(flow_of(session, actor, settings)).page(
        project_id, status=status_filter, after_id=decode_id_cursor(cursor), limit=limit
    )
    items = [AssignmentRead.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_id_cursor(items[-1].id) if len(rows) > limit else None
    return Page[AssignmentRead](items=items, next_cursor=next_cursor)


@assignments_router.post(
    "", status_code=status.HTTP_201_CREATED, responses=responses(403, 404, 409, 422)
)
def assign_supplier(
    project_id: PathId,
    body: AssignmentCreate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> AssignmentResult:
    """Assign a supplier: its task instances are created from the project's templates."""
    service = AssignmentFlows(flow_of(session, actor, settings))
    assignment, created = service.assign(project_id, body.supplier_id)
    response.headers["Location"] = f"/api/projects/{project_id}/suppliers/{body.supplier_id}"
    set_etag(response, assignment.version)
    row = service.row(assignment.id)
    return AssignmentResult.model_validate({**row._mapping, "instances_created": created})


@assignments_router.delete("/{supplier_id}", responses=responses(403, 404, 412, 422))
def remove_supplier(
    project_id: PathId,
    supplier_id: PathId,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> AssignmentRead:
    """Take a supplier off a project: REMOVED, its instances and history kept."""
    service = AssignmentFlows(flow_of(session, actor, settings))
    assignment = service.remove(project_id, supplier_id, expected_version(if_match))
    set_etag(response, assignment.version)
    return AssignmentRead.model_validate(service.row(assignment.id))
