"""HTTP routes of task instances and their audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from supplytrack.audit.models import ChangeSource, HistoryField
from supplytrack.audit.schemas import HistoryRead
from supplytrack.auth.dependencies import AnyActor, DbSession, Manager, TaskWriter
from supplytrack.core.db import AnyRow
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
from supplytrack.core.schemas import Page, changes_of
from supplytrack.tasks.dependencies import task_filter, task_sort
from supplytrack.tasks.repository import TaskFilter
from supplytrack.tasks.schemas import TaskInstanceCreate, TaskInstanceRead, TaskInstanceUpdate
from supplytrack.tasks.service import TaskService

router = APIRouter(
    prefix="/api/task-instances", tags=["task instances"], route_class=UnitOfWorkRoute
)


def _one(response: Response, row: AnyRow) -> TaskInstanceRead:
    read = TaskInstanceRead.model_validate(row)
    set_etag(response, read.version)
    return read


@router.get("", responses=responses(403, 422))
def list_instances(
    actor: AnyActor,
    session: DbSession,
    where: Annotated[TaskFilter, Depends(task_filter)],
    sort: Annotated[Sort, Depends(task_sort)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TaskInstanceRead]:
    """Task instances matching the filters (a supplier token sees its own only)."""
    rows = TaskService(session, actor).page(where, sort=sort, cursor=cursor, limit=limit)
    items, next_cursor = page_of(rows, sort, limit)
    return Page[TaskInstanceRead](
        items=[TaskInstanceRead.model_validate(row) for row in items], next_cursor=next_cursor
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(403, 404, 409, 422))
def create_instance(
    body: TaskInstanceCreate, actor: Manager, session: DbSession, response: Response
) -> TaskInstanceRead:
    """Create one instance by hand (the supplier must have the milestone's capability)."""
    service = TaskService(session, actor)
    instance = service.create(body.supplier_project_id, body.task_template_id)
    response.headers["Location"] = f"/api/task-instances/{instance.id}"
    return _one(response, service.read(instance.id))


@router.get("/{instance_id}", responses=responses(403, 404, 422))
def get_instance(
    instance_id: PathId, actor: AnyActor, session: DbSession, response: Response
) -> TaskInstanceRead:
    """One task instance with its ETag."""
    return _one(response, TaskService(session, actor).read(instance_id))


@router.patch("/{instance_id}", responses=responses(403, 404, 409, 412, 422))
def update_instance(
    instance_id: PathId,
    body: TaskInstanceUpdate,
    actor: TaskWriter,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> TaskInstanceRead:
    """Move the status (through the status machine), the due date or the notes."""
    service = TaskService(session, actor)
    service.update(instance_id, changes_of(body), expected_version(if_match))
    return _one(response, service.read(instance_id))


@router.delete(
    "/{instance_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(403, 404, 409, 412, 422),
)
def delete_instance(
    instance_id: PathId, actor: Manager, session: DbSession, if_match: IfMatch = None
) -> Response:
    """Delete an instance nobody has touched (409 otherwise: waive it)."""
    TaskService(session, actor).delete(instance_id, expected_version(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{instance_id}/history", responses=responses(403, 404, 422))
def instance_history(
    instance_id: PathId,
    actor: AnyActor,
    session: DbSession,
    field: Annotated[HistoryField | None, Query(description="Only this field.")] = None,
    source: Annotated[ChangeSource | None, Query(description="Only this source.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[HistoryRead]:
    """The audit trail of one instance, newest first."""
    rows = TaskService(session, actor).history(
        instance_id, field=field, source=source, before_id=decode_id_cursor(cursor), limit=limit
    )
    items = [HistoryRead.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_id_cursor(items[-1].id) if len(rows) > limit else None
    return Page[HistoryRead](items=items, next_cursor=next_cursor)
