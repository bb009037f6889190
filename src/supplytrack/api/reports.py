"""HTTP routes of reports: JSON, or the same rows as CSV or XLSX (streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from supplytrack.api.cached import cached_report
from supplytrack.api.deps import AnyActor, AppSettings
from supplytrack.core.db import Database
from supplytrack.core.errors import BusinessRuleError
from supplytrack.core.openapi import Cursor, Limit, QueryId, responses
from supplytrack.core.pagination import DEFAULT_LIMIT
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import IsoDate, Page
from supplytrack.core.time import today
from supplytrack.reports import exports
from supplytrack.reports.repository import Window
from supplytrack.reports.schemas import ProjectStatus, SupplierPerformance
from supplytrack.reports.service import ReportService
from supplytrack.reports.stream import instance_csv_rows, instance_rows

router = APIRouter(prefix="/api/reports", tags=["reports"], route_class=UnitOfWorkRoute)
Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx.")]
_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            exports.XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "The report (JSON, CSV or XLSX).",
    }
}


def read_session(request: Request) -> Iterator[Session]:
    """A session on the reporting replica (DATABASE_READ_URL), open until the body is sent."""
    database: Database = request.app.state.database
    session = database.read_session()
    try:
        yield session
    finally:
        session.close()


ReadSession = Annotated[Session, Depends(read_session)]


@router.get("/supplier-performance", responses={**responses(403, 404, 422), **_FILES})
def supplier_performance(
    request: Request,
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    project_id: Annotated[
        QueryId, Query(alias="projectId", description="Only of this project.")
    ] = None,
    supplier_id: Annotated[
        QueryId, Query(alias="supplierId", description="Only of this supplier.")
    ] = None,
    start: Annotated[
        IsoDate | None, Query(alias="from", description="Due from (default: a year ago).")
    ] = None,
    end: Annotated[
        IsoDate | None, Query(alias="to", description="Due to (default: today).")
    ] = None,
    min_completed: Annotated[
        int, Query(alias="minCompleted", ge=1, le=1000, description="Approvals needed to be rated.")
    ] = 5,
    sort: Annotated[
        str,
        Query(
            max_length=40,
            description="score, onTimeRate, firstPassRate,"
            " openOverdue, tasksDue, supplierCode; '-' for descending.",
        ),
    ] = "-score",
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SupplierPerformance]:
    """Per supplier: due, submitted, approved, rates, lateness, overdue, slips, score.

    The score's formula is in the documentation of its field.
    """
    service = ReportService(session, actor, settings.app_timezone)
    default_start, default_end = service.default_window()
    window = Window(start or default_start, end or default_end, project_id, supplier_id)
    if window.start > window.end:
        raise BusinessRuleError("from must not be after to", code="INVALID_WINDOW")
    if format != "json":
        rows, _ = service.performance_page(window, min_completed, sort, None, None)
        return exports.respond(format, exports.PERFORMANCE, rows, "supplier-performance")  # type: ignore[return-value]

    def create() -> Page[SupplierPerformance]:
        rows, following = service.performance_page(window, min_completed, sort, cursor, limit)
        return Page[SupplierPerformance](
            items=[SupplierPerformance.model_validate(row) for row in rows], next_cursor=following
        )

    return cached_report(request, actor, Page[SupplierPerformance], create)


@router.get("/project-status", responses={**responses(403, 404, 422), **_FILES})
def project_status(
    request: Request,
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    project_id: Annotated[
        QueryId, Query(alias="projectId", description="Only of this project.")
    ] = None,
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ProjectStatus]:
    """Per project: suppliers, statuses, completion, overdue, due soon, at risk, milestones."""
    service = ReportService(session, actor, settings.app_timezone)
    if format != "json":
        rows, _ = service.project_status(project_id, None, None)
        flat = [
            {**project, "milestone": milestone}
            for project in rows
            for milestone in project["milestones"]
        ]
        return exports.respond(format, exports.PROJECT_STATUS, flat, "project-status")  # type: ignore[return-value]

    def create() -> Page[ProjectStatus]:
        rows, following = service.project_status(project_id, cursor, limit)
        return Page[ProjectStatus](
            items=[ProjectStatus.model_validate(row) for row in rows], next_cursor=following
        )

    return cached_report(request, actor, Page[ProjectStatus], create)


@router.get(
    "/task-instances",
    response_class=StreamingResponse,
    responses={**responses(403, 422), **_FILES},
)
def export_instances(
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    project_id: Annotated[
        QueryId, Query(alias="projectId", description="Only of this project.")
    ] = None,
    supplier_id: Annotated[
        QueryId, Query(alias="supplierId", description="Only of this supplier.")
    ] = None,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx.")] = "csv",
) -> StreamingResponse:
    """Every visible task instance with its project, supplier and milestone, streamed."""
    # Generators: nothing is read until the response streams (only the one asked for runs).
    day = today(settings.app_timezone)
    return exports.respond_instances(
        format,
        instance_rows(session, actor, project_id, supplier_id, day),
        instance_csv_rows(session, actor, project_id, supplier_id, day),
    )
