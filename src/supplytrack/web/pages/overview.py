"""Pages: the projects overview at ``/``: every visible project at a glance, with charts.

The figures are the project-status report's (ReportService.project_status on the reporting
session, through the report cache, as api/reports.py reads them), a page of 50 projects at a
time; the download is the report's own CSV/XLSX export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from supplytrack.api.cached import cached_report
from supplytrack.api.deps import AppSettings
from supplytrack.api.reports import ReadSession
from supplytrack.core.openapi import Cursor
from supplytrack.core.schemas import Page
from supplytrack.reports import exports
from supplytrack.reports.schemas import ProjectStatus
from supplytrack.reports.service import AT_RISK_SHOWN, ReportService
from supplytrack.tasks.enums import TaskStatus
from supplytrack.web.base import PageRoute, SignedIn, redirect, render
from supplytrack.web.charts import bar_chart, stacked_bars

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
AT_RISK_LISTED = 3  # per project on the overview; the report names up to AT_RISK_SHOWN
Download = Annotated[Literal["csv", "xlsx"] | None, Query(description="csv or xlsx.")]
# Statuses in the order work moves through them (the chart's legend and segments).
STATUS_ORDER = [status.value for status in TaskStatus]
STATUS_WORDS = {status: status.replace("_", " ").capitalize() for status in STATUS_ORDER}


def address(path: str, query: Mapping[str, object]) -> str:
    """``path`` with the query's non-empty values (for links that keep a page's filters)."""
    kept = {name: value for name, value in query.items() if value not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


def downloads(path: str, query: Mapping[str, object]) -> dict[str, str]:
    """The CSV and XLSX links of a list page: its own address with ``format`` added."""
    return {kind: address(path, {**query, "format": kind}) for kind in ("csv", "xlsx")}


def status_chart(projects: Sequence[Mapping[str, Any]]) -> Any:
    """Instances per status per project, one stacked bar each."""
    present = {entry["status"] for project in projects for entry in project["by_status"]}
    series = [status for status in STATUS_ORDER if status in present]
    rows = [
        (
            project["code"],
            [(STATUS_WORDS[entry["status"]], entry["count"]) for entry in project["by_status"]],
        )
        for project in projects
    ]
    return stacked_bars(
        "Task instances by status, per project",
        rows,
        series=[STATUS_WORDS[status] for status in series],
    )


def overdue_chart(projects: Sequence[Mapping[str, Any]]) -> Any:
    """Overdue instances per project."""
    return bar_chart(
        "Overdue task instances per project",
        [(project["code"], project["overdue"]) for project in projects],
    )


@router.get("/")
def overview(
    request: Request,
    viewer: SignedIn,
    session: ReadSession,
    settings: AppSettings,
    cursor: Cursor = None,
    format: Download = None,
) -> Response:
    """Staff: every project at a glance. Suppliers go to their portal."""
    if viewer.is_supplier:
        return redirect(request, "/portal")
    service = ReportService(session, viewer.actor, settings.app_timezone)
    if format is not None:  # the report's export: one row per project and milestone
        everything, _ = service.project_status(None, None, None)
        flat = [
            {**project, "milestone": milestone}
            for project in everything
            for milestone in project["milestones"]
        ]
        return exports.respond(format, exports.PROJECT_STATUS, flat, "project-status")

    def create() -> Page[ProjectStatus]:
        rows, following = service.project_status(None, cursor, PAGE_SIZE)
        return Page[ProjectStatus](
            items=[ProjectStatus.model_validate(row) for row in rows], next_cursor=following
        )

    # The API's report cache (keyed by this page's path, query and the viewer's scope).
    listed = cached_report(request, viewer.actor, Page[ProjectStatus], create)
    projects = [item.model_dump(by_alias=False) for item in listed.items]
    following = listed.next_cursor
    totals = {
        name: sum(project[name] for project in projects)
        for name in ("instances", "overdue", "due_next_7_days", "due_next_14_days")
    }
    return render(
        request,
        "overview.html",
        viewer,
        projects=projects,
        totals=totals,
        at_risk_listed=AT_RISK_LISTED,
        at_risk_most=AT_RISK_SHOWN,
        status_chart=status_chart(projects),
        overdue_chart=overdue_chart(projects),
        next_page=address("/", {"cursor": following}) if following else None,
        first_page="/" if cursor else None,
        downloads=downloads("/", {}),
    )
