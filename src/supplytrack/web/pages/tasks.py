"""Pages: the task instance list at ``/tasks`` (filters, sorting, paging, asOf, downloads).

The list is the API's (GET /api/task-instances): the same filters, scope and cursor, 50 rows a
page, plus one query naming the page's projects, suppliers and milestones. The downloads
stream every row of the same filter and order. The instance page and its forms are in
instance.py, mounted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from supplytrack.api.deps import AppSettings, DbSession
from supplytrack.api.reports import ReadSession
from supplytrack.core.pagination import page_of, parse_sort
from supplytrack.core.time import today
from supplytrack.projects.service import ProjectService
from supplytrack.suppliers.service import SupplierService
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.service import TaskService
from supplytrack.web.base import PageRoute, SignedIn, Viewer, render
from supplytrack.web.pages import instance
from supplytrack.web.pages.tasks_common import (
    COMPILED_SORTS,
    PAGE_SIZE,
    SORT_LABELS,
    ListQuery,
    export_kind,
    notice_of,
    parse_list_query,
    respond_rows,
    status_class,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
router.include_router(instance.router)
AS_OF_BATCH = 500
_BY_ID = parse_sort("id", {"id": TaskInstance.id}, TaskInstance.id)


class _Id:
    """Just an id, for paging the asOf rows (already shaped) by id, as the API does."""

    def __init__(self, value: int) -> None:
        self.id = value


def _supplier_id(session: Session, viewer: Viewer, query: ListQuery) -> tuple[int | None, bool]:
    """The supplier filter's id, and whether it names a supplier at all (staff only)."""
    if viewer.is_supplier or not query.supplier:
        return None, True
    found = SupplierService(session, viewer.actor).id_by_code(query.supplier)
    return found, found is not None


def _as_of_page(
    service: TaskService,
    values: dict[str, Any],
    as_of: date,
    cursor: str | None,
    limit: int,
    zone: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the plan as it stood at the end of ``as_of`` (by id), and the next cursor."""
    where = TaskService.filter_of(**values)
    shaped = service.page_as_of(where, as_of, today(zone), zone, cursor=cursor, limit=limit)
    kept, following = page_of([_Id(item["id"]) for item in shaped], _BY_ID, limit)
    return shaped[: len(kept)], following


def _row_id(row: Any) -> int:
    """The id of a list row (a read row, or an asOf dict)."""
    return int(row["id"] if isinstance(row, dict) else row.id)


@router.get("/tasks")
def task_list(
    request: Request,
    viewer: SignedIn,
    session: DbSession,
    reads: ReadSession,
    settings: AppSettings,
) -> Response:
    """Task instances matching the filters (a supplier sees its own only); or their download."""
    query = parse_list_query(request.query_params)
    kind = export_kind(request.query_params)
    zone = settings.app_timezone
    if kind is not None:
        return _download(reads, viewer, query, kind, zone)
    day = today(zone)
    service = TaskService(session, viewer.actor)
    supplier_id, known = _supplier_id(session, viewer, query)
    values = query.filter_values(supplier_id)
    rows: list[Any] = []
    following: str | None = None
    if known and query.as_of is not None:
        rows, following = _as_of_page(service, values, query.as_of, query.cursor, PAGE_SIZE, zone)
    elif known:
        sort = query.order
        fetch = service.page if sort.name in COMPILED_SORTS else service.page_by
        found = fetch(
            TaskService.filter_of(**values), day, sort=sort, cursor=query.cursor, limit=PAGE_SIZE
        )
        rows, following = page_of(found, sort, PAGE_SIZE)
    projects = ProjectService(session, viewer.actor)
    return render(
        request,
        "tasks.html",
        viewer,
        notice=notice_of(request.query_params),
        query=query,
        rows=rows,
        labels=service.labels([_row_id(row) for row in rows]),
        next_link=query.link(cursor=following) if following else None,
        first_link=query.link(cursor=None) if query.cursor else None,
        projects=projects.many(projects.visible_ids()),
        supplier_unknown=not known,
        statuses=list(TaskStatus),
        sort_labels=SORT_LABELS,
        status_class=status_class,
    )


def _download(session: Session, viewer: Viewer, query: ListQuery, kind: str, zone: str) -> Response:
    """Every row of the list's filter and order, streamed from a read session."""
    supplier_id, known = _supplier_id(session, viewer, query)
    service = TaskService(session, viewer.actor)
    # An unknown supplier code matches nothing: no supplier has the id 0.
    values = query.filter_values(supplier_id if known else 0)
    if query.as_of is not None:
        return respond_rows(kind, _as_of_rows(service, values, query.as_of, zone), as_of=True)
    where = TaskService.filter_of(**values)
    return respond_rows(kind, service.export_rows(where, today(zone), query.order))


def _as_of_rows(
    service: TaskService, values: dict[str, Any], as_of: date, zone: str
) -> Iterator[dict[str, Any]]:
    """Every asOf row of the filter, a page at a time (memory stays flat), with its names."""
    cursor: str | None = None
    while True:
        rows, cursor = _as_of_page(service, values, as_of, cursor, AS_OF_BATCH, zone)
        labels = service.labels([row["id"] for row in rows])
        for row in rows:
            label = labels[row["id"]]
            yield {
                **row,
                "project_code": label.project_code,
                "supplier_code": label.supplier_code,
                "supplier_name": label.supplier_name,
                "milestone": label.milestone,
            }
        if cursor is None:
            return
