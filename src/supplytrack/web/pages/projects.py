"""Pages: one project: its facts, a milestone-by-supplier matrix, its suppliers and calendar.

Any signed-in role opens a project it can see; a supplier sees only its own row of the
matrix, and another's project is a 404 page like a missing one. The matrix is a page of 50
suppliers at a time from three queries (milestones, the page's assignments, their cells).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from supplytrack.api.deps import AppSettings
from supplytrack.api.reports import ReadSession
from supplytrack.calendars.service import CalendarService
from supplytrack.core.openapi import Cursor, PathId
from supplytrack.reports import exports
from supplytrack.reports.files import Column, formula_safe
from supplytrack.reports.service import ReportService
from supplytrack.web.base import PageRoute, SignedIn, render
from supplytrack.web.pages.overview import Download, address, downloads

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
WEEKDAY_WORDS = {
    "MON": "Monday",
    "TUE": "Tuesday",
    "WED": "Wednesday",
    "THU": "Thursday",
    "FRI": "Friday",
    "SAT": "Saturday",
    "SUN": "Sunday",
}


def _state_of(template_id: int) -> Callable[[Mapping[str, Any]], str]:
    """Reads a matrix row's state on one milestone (blank: no task)."""

    def read(row: Mapping[str, Any]) -> str:
        cell = row["cells"].get(template_id)
        return "" if cell is None else str(cell["state"])

    return read


def matrix_columns(milestones: Sequence[Mapping[str, Any]]) -> list[Column]:
    """The matrix as a file: the supplier, then one column per milestone holding its state.

    A milestone's name heads its column, made formula-safe like every cell.
    """
    columns = [
        Column("supplierId", lambda row: row["supplier_id"], "int"),
        Column("supplierCode", lambda row: row["supplier_code"]),
        Column("supplierName", lambda row: row["supplier_name"]),
        Column("supplierStatus", lambda row: row["supplier_status"]),
        Column("assignment", lambda row: row["assignment_status"]),
    ]
    for milestone in milestones:
        header = str(formula_safe(str(milestone["name"])))
        columns.append(Column(header, _state_of(milestone["task_template_id"])))
    return columns


@router.get("/projects/{project_id}")
def project_page(
    request: Request,
    project_id: PathId,
    viewer: SignedIn,
    session: ReadSession,
    settings: AppSettings,
    cursor: Cursor = None,
    format: Download = None,
) -> Response:
    """A project's facts, its milestone-by-supplier matrix, its suppliers and its calendar."""
    service = ReportService(session, viewer.actor, settings.app_timezone)
    if format is not None:
        whole = service.project_matrix(project_id, None, None)
        return exports.respond(
            format,
            matrix_columns(whole["milestones"]),
            whole["rows"],
            f"project-{project_id}-matrix",
        )
    matrix = service.project_matrix(project_id, cursor, PAGE_SIZE)
    order = [milestone["task_template_id"] for milestone in matrix["milestones"]]
    for row in matrix["rows"]:  # the cells in column order, for a quick template loop
        row["line"] = [row["cells"].get(template_id) for template_id in order]
    project = matrix["project"]
    report = service.project_facts(project_id)
    calendar = CalendarService(session, viewer.actor).view_between(
        project_id, project.start_date, project.sop_date
    )
    here = f"/projects/{project_id}"
    following = matrix["next_cursor"]
    return render(
        request,
        "project.html",
        viewer,
        project=project,
        report=report,
        milestones=matrix["milestones"],
        totals=report["milestones"],
        rows=matrix["rows"],
        calendar=calendar,
        working_days=[WEEKDAY_WORDS[name] for name in calendar.working_weekdays],
        next_page=address(here, {"cursor": following}) if following else None,
        first_page=here if cursor else None,
        downloads=downloads(here, {}),
    )
