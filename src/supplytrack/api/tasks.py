"""HTTP routes of task instances and their audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.orm import Session

from supplytrack.api.deps import AnyActor, AppSettings, DbSession, Manager, TaskWriter, flow_of
from supplytrack.api.params import task_filter, task_sort
from supplytrack.audit.models import ChangeSource, HistoryField, ReasonCode
from supplytrack.audit.schemas import HistoryRead
from supplytrack.audit.service import HistoryFilter
from supplytrack.core.db import AnyRow
from supplytrack.core.http import etag_of, expected_version, set_etag
from supplytrack.core.identity import Actor
from supplytrack.core.openapi import Cursor, IfMatch, Limit, PathId, responses
from supplytrack.core.pagination import (
    DEFAULT_LIMIT,
    Sort,
    decode_id_cursor,
    encode_id_cursor,
    page_of,
    parse_sort,
)
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import IsoDate, Page, json_response
from supplytrack.core.settings import Settings
from supplytrack.core.time import today
from supplytrack.flows.instances import InstanceFlows
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import TaskFilter
from supplytrack.tasks.schemas import (
    TaskInstanceAsOf,
    TaskInstanceCreate,
    TaskInstanceRead,
    TaskInstanceUpdate,
)
from supplytrack.tasks.service import TaskService

AsOf = Annotated[
    IsoDate | None,
    Query(alias="asOf", description="Show the plan as it stood at the end of this day."),
]


class _Id:
    """Just an id, for paging rows that are already shaped."""

    def __init__(self, value: int) -> None:
        self.id = value


router = APIRouter(
    prefix="/api/task-instances", tags=["task instances"], route_class=UnitOfWorkRoute
)


# (camelCase key, row column) of TaskInstanceRead, in the model's field order.
_FIELDS = tuple(
    (field.alias or name, name) for name, field in TaskInstanceRead.model_fields.items()
)
_FLAGS = ("overdue", "at_risk")  # computed in SQL: 0/1 on SQLite, booleans on PostgreSQL


def instance_json(row: AnyRow) -> dict[str, Any]:
    """A read row as TaskInstanceRead's JSON (the same keys and values, without validation)."""
    values = row._mapping
    item = {key: values[name] for key, name in _FIELDS}
    for name in _FLAGS:
        key = TaskInstanceRead.model_fields[name].alias or name
        item[key] = bool(item[key])
    return item


def _one(response: Response, row: AnyRow) -> TaskInstanceRead:
    read = TaskInstanceRead.model_validate(dict(row._mapping))
    set_etag(response, read.version)
    return read


@router.get(
    "",
    response_model=Page[TaskInstanceRead] | Page[TaskInstanceAsOf],
    responses=responses(403, 422),
)
def list_instances(
    actor: AnyActor,
    session: DbSession,
    settings: AppSettings,
    where: Annotated[TaskFilter, Depends(task_filter)],
    sort: Annotated[Sort, Depends(task_sort)],
    as_of: AsOf = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Task instances matching the filters (a supplier token sees its own only).

    With ``asOf``, statuses and due dates are those at the end of that day, rebuilt from the
    audit trail; filters apply to those values and the list is ordered by id.
    """
    service = TaskService(session, actor)
    zone = settings.app_timezone
    if as_of is not None:
        shaped = service.page_as_of(where, as_of, today(zone), zone, cursor=cursor, limit=limit)
        by_id = parse_sort("id", {"id": TaskInstance.id}, TaskInstance.id)
        kept, next_as_of = page_of([_Id(item["id"]) for item in shaped], by_id, limit)
        page = Page[TaskInstanceAsOf](
            items=[TaskInstanceAsOf.model_validate(item) for item in shaped[: len(kept)]],
            next_cursor=next_as_of,
        )
        return json_response(page.model_dump(mode="json", by_alias=True))
    rows = service.page(where, today(zone), sort=sort, cursor=cursor, limit=limit)
    items, next_cursor = page_of(rows, sort, limit)
    return json_response(
        {"items": [instance_json(row) for row in items], "nextCursor": next_cursor}
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(403, 404, 409, 422))
def create_instance(
    body: TaskInstanceCreate,
    actor: Manager,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> TaskInstanceRead:
    """Create one instance by hand (the supplier must have the milestone's capability)."""
    instance = InstanceFlows(flow_of(session, actor, settings)).create(body)
    response.headers["Location"] = f"/api/task-instances/{instance.id}"
    read = TaskService(session, actor).read(instance.id, today(settings.app_timezone))
    return _one(response, read)


@router.get(
    "/{instance_id}",
    response_model=TaskInstanceRead | TaskInstanceAsOf,
    responses=responses(403, 404, 422),
)
def get_instance(
    instance_id: PathId,
    actor: AnyActor,
    session: DbSession,
    settings: AppSettings,
    as_of: AsOf = None,
) -> Response:
    """One task instance with its ETag; with ``asOf``, as it stood at the end of that day."""
    service = TaskService(session, actor)
    zone = settings.app_timezone
    if as_of is not None:
        past = TaskInstanceAsOf.model_validate(
            service.read_as_of(instance_id, as_of, today(zone), zone)
        )
        return json_response(past.model_dump(mode="json", by_alias=True))
    item = instance_json(service.read(instance_id, today(zone)))
    return json_response(item, headers={"ETag": etag_of(item["version"])})


def patch_and_read(
    session: Session,
    actor: Actor,
    settings: Settings,
    instance_id: int,
    body: TaskInstanceUpdate,
    if_match: str | None,
    reads: Session | None = None,
) -> dict[str, Any]:
    """Apply a PATCH of one instance and read it back as its JSON (uncommitted).

    The route below and the fast path (api/fast.py) both answer a PATCH with this; given
    ``reads``, a status or notes PATCH is checked outside the write transaction (flows).
    """
    InstanceFlows(flow_of(session, actor, settings)).update(
        instance_id, body, expected_version(if_match), reads=reads
    )
    read = TaskService(session, actor).read(instance_id, today(settings.app_timezone))
    return instance_json(read)


@router.patch(
    "/{instance_id}", response_model=TaskInstanceRead, responses=responses(403, 404, 409, 412, 422)
)
def update_instance(
    instance_id: PathId,
    body: TaskInstanceUpdate,
    actor: TaskWriter,
    session: DbSession,
    settings: AppSettings,
    if_match: IfMatch = None,
) -> Response:
    """Move the status (through the status machine), the due date or the notes."""
    item = patch_and_read(session, actor, settings, instance_id, body, if_match)
    return json_response(item, headers={"ETag": etag_of(item["version"])})


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
    reason_code: Annotated[
        ReasonCode | None, Query(alias="reasonCode", description="Only this reason code.")
    ] = None,
    change_id: Annotated[
        str | None,
        Query(alias="changeId", pattern="^[0-9a-f]{32}$", description="Only this change."),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[HistoryRead]:
    """The audit trail of one instance, newest first."""
    where = HistoryFilter(field=field, source=source, reason_code=reason_code, change_id=change_id)
    rows = TaskService(session, actor).history(
        instance_id, where, before_id=decode_id_cursor(cursor), limit=limit
    )
    items = [HistoryRead.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_id_cursor(items[-1].id) if len(rows) > limit else None
    return Page[HistoryRead](items=items, next_cursor=next_cursor)
