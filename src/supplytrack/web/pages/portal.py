"""Pages: the supplier portal at ``/portal``: its own open tasks, with moves and notes in place.

Supplier tokens only (staff go to /tasks). Open tasks come overdue first, then soonest due, 50
a page; each row carries its own small forms, which post to the instance's routes with
``back=/portal`` so that the answer returns here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from supplytrack.api.deps import AppSettings, DbSession
from supplytrack.api.reports import ReadSession
from supplytrack.core.pagination import decode_offset, encode_offset
from supplytrack.core.time import today
from supplytrack.tasks.enums import OPEN_STATUSES
from supplytrack.tasks.service import TaskService
from supplytrack.web.base import PageRoute, SignedIn, redirect, render
from supplytrack.web.pages.tasks_common import (
    PAGE_SIZE,
    SOON_DAYS,
    export_kind,
    notice_of,
    page_sort,
    respond_rows,
    status_class,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/portal")
def portal(
    request: Request,
    viewer: SignedIn,
    session: DbSession,
    reads: ReadSession,
    settings: AppSettings,
) -> Response:
    """The supplier's own open tasks, overdue first; or their download (CSV or XLSX)."""
    if viewer.is_staff:
        return redirect(request, "/tasks")
    day = today(settings.app_timezone)
    where = TaskService.filter_of(statuses=sorted(OPEN_STATUSES))
    kind = export_kind(request.query_params)
    if kind is not None:
        every = TaskService(reads, viewer.actor).export_rows(
            where, day, page_sort("actualDue"), overdue_first=True
        )
        return respond_rows(kind, every)
    cursor = request.query_params.get("cursor") or None
    offset = decode_offset(cursor)
    service = TaskService(session, viewer.actor)
    found = service.open_page(where, day, offset=offset, limit=PAGE_SIZE)
    rows = list(found[:PAGE_SIZE])
    following = encode_offset(offset + PAGE_SIZE) if len(found) > PAGE_SIZE else None
    return render(
        request,
        "portal.html",
        viewer,
        notice=notice_of(request.query_params),
        rows=rows,
        labels=service.labels([row.id for row in rows]),
        offers=service.offered_moves(rows),
        counts=service.open_counts(day, SOON_DAYS),
        soon_days=SOON_DAYS,
        next_cursor=following,
        first_page=offset > 0,
        status_class=status_class,
    )
