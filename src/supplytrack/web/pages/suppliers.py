"""Pages: supplier scorecards: every supplier's performance, and one supplier's with a trend.

The figures are the supplier-performance report's (ReportService.supplier_performance on
the reporting session, the API's default window and filters); the monthly trend is one
query grouped by month with the same definitions. A supplier opens only its own scorecard;
another supplier's is a 404 page like a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from supplytrack.api.cached import cached_report
from supplytrack.api.deps import AppSettings
from supplytrack.api.reports import ReadSession
from supplytrack.core.errors import BusinessRuleError, SupplyTrackError
from supplytrack.core.openapi import Cursor, PathId
from supplytrack.core.schemas import MAX_ID, Page
from supplytrack.projects.service import ProjectService
from supplytrack.reports import exports
from supplytrack.reports.files import Column
from supplytrack.reports.repository import Window
from supplytrack.reports.schemas import SupplierPerformance
from supplytrack.reports.service import ReportService
from supplytrack.suppliers.service import SupplierService
from supplytrack.web.base import PageRoute, SignedIn, StaffViewer, render
from supplytrack.web.charts import bar_chart, line_chart
from supplytrack.web.pages.overview import Download, address, downloads

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
MIN_COMPLETED = 5  # the API's default: approvals needed in the window to be rated
PROJECT_CHOICES = 500
SORTS = {
    "score": "Score",
    "onTimeRate": "On-time rate",
    "firstPassRate": "First-pass rate",
    "openOverdue": "Open overdue",
}
Text = Annotated[str | None, Query(max_length=40)]
From = Annotated[str | None, Query(alias="from", max_length=40)]
To = Annotated[str | None, Query(alias="to", max_length=40)]
ProjectChoice = Annotated[str | None, Query(alias="projectId", max_length=40)]
TREND = [
    Column("month", lambda row: row["month"], "date"),
    Column("from", lambda row: row["start"], "date"),
    Column("to", lambda row: row["end"], "date"),
    Column("tasksDue", lambda row: row["tasks_due"], "int"),
    Column("submitted", lambda row: row["submitted"], "int"),
    Column("approved", lambda row: row["approved"], "int"),
    Column("onTimeRate", lambda row: row["on_time_rate"], "float"),
    Column("firstPassRate", lambda row: row["first_pass_rate"], "float"),
    Column("lateSubmissions", lambda row: row["late_submissions"], "int"),
    Column("avgDaysLate", lambda row: row["avg_days_late"], "float"),
    Column("openOverdue", lambda row: row["open_overdue"], "int"),
    Column("daysOverdue", lambda row: row["days_overdue"], "int"),
    Column("rating", lambda row: row["rating"]),
    Column("score", lambda row: row["score"], "int"),
]


def _invalid(name: str, why: str) -> SupplyTrackError:
    return SupplyTrackError(f"{name} {why}", status=422, code="VALIDATION_ERROR")


def _day(raw: str | None, name: str, default: date) -> date:
    """A YYYY-MM-DD field of the filter form (blank: the default)."""
    if raw is None or not raw.strip():
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise _invalid(name, "must be a date (YYYY-MM-DD)") from None


def _project_id(raw: str | None) -> int | None:
    """The projectId field of the filter form (blank: every project)."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise _invalid("projectId", "must be a project's id")
    return int(value)


def window_of(
    service: ReportService,
    start: str | None,
    end: str | None,
    project: str | None,
    supplier_id: int | None = None,
) -> Window:
    """The report window of the filter form: the API's default (a year to today) when blank."""
    default_start, default_end = service.default_window()
    window = Window(
        _day(start, "from", default_start),
        _day(end, "to", default_end),
        _project_id(project),
        supplier_id,
    )
    if window.start > window.end:
        raise BusinessRuleError("from must not be after to", code="INVALID_WINDOW")
    return window


def filters_of(window: Window) -> dict[str, object]:
    """The filter form's fields as a query (what links keep)."""
    return {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "projectId": window.project_id,
    }


def sort_links(sort: str, query: Mapping[str, object]) -> list[dict[str, Any]]:
    """A link per sortable column: descending first, ascending when already descending."""
    links = []
    for name, label in SORTS.items():
        current = sort.removeprefix("-") == name
        descending = sort.startswith("-")
        order = None
        if current:
            order = "descending" if descending else "ascending"
        following = name if current and descending else "-" + name
        links.append(
            {
                "name": name,
                "label": label,
                "href": address("/suppliers", {**query, "sort": following}),
                "order": order,
            }
        )
    return links


def project_choices(session: Any, viewer: Any) -> list[Any]:
    """The projects the filter offers (the first PROJECT_CHOICES visible ones, by id)."""
    projects = ProjectService(session, viewer.actor)
    return list(projects.many(projects.visible_ids()[:PROJECT_CHOICES]))


def score_chart(rows: Sequence[Mapping[str, Any]]) -> Any:
    """The scores of the rated suppliers shown."""
    rated = [(row["supplier_code"], row["score"]) for row in rows if row["score"] is not None]
    return bar_chart("Supplier scores (0 to 100)", rated)


@router.get("/suppliers")
def suppliers_page(
    request: Request,
    viewer: StaffViewer,
    session: ReadSession,
    settings: AppSettings,
    start: From = None,
    end: To = None,
    project: ProjectChoice = None,
    sort: Text = "-score",
    cursor: Cursor = None,
    format: Download = None,
) -> Response:
    """Every supplier's scorecard figures, sortable, 50 a page, with a chart of scores."""
    service = ReportService(session, viewer.actor, settings.app_timezone)
    window = window_of(service, start, end, project)
    order = sort or "-score"
    if format is not None:
        everything, _ = service.performance_page(window, MIN_COMPLETED, order, None, None)
        return exports.respond(format, exports.PERFORMANCE, everything, "supplier-performance")

    def create() -> Page[SupplierPerformance]:
        rows, following = service.performance_page(window, MIN_COMPLETED, order, cursor, PAGE_SIZE)
        return Page[SupplierPerformance](
            items=[SupplierPerformance.model_validate(row) for row in rows],
            next_cursor=following,
        )

    # The API's report cache (keyed by this page's path, query and the viewer's scope).
    listed = cached_report(request, viewer.actor, Page[SupplierPerformance], create)
    rows = [item.model_dump(by_alias=False) for item in listed.items]
    following = listed.next_cursor
    query = filters_of(window)
    return render(
        request,
        "suppliers.html",
        viewer,
        rows=rows,
        window=window,
        projects=project_choices(session, viewer),
        sorts=sort_links(order, query),
        chart=score_chart(rows),
        sort=order,
        min_completed=MIN_COMPLETED,
        not_rated=sum(1 for row in rows if row["score"] is None),
        next_page=(
            address("/suppliers", {**query, "sort": order, "cursor": following})
            if following
            else None
        ),
        first_page=address("/suppliers", {**query, "sort": order}) if cursor else None,
        downloads=downloads("/suppliers", {**query, "sort": order}),
    )


def _empty(supplier: Any) -> dict[str, Any]:
    """The figures of a supplier with nothing due in the window (no rates, not rated)."""
    counts = ("tasks_due", "submitted", "approved", "late_submissions", "open_overdue")
    unknown = ("on_time_rate", "first_pass_rate", "avg_days_late", "p90_days_late", "score")
    return {
        "supplier_id": supplier.id,
        "supplier_code": supplier.code,
        "supplier_name": supplier.name,
        **dict.fromkeys(counts, 0),
        **dict.fromkeys(unknown),
        "days_overdue": 0,
        "slips_by_reason": {},
        "rating": "NOT_RATED",
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def trend_charts(trend: Sequence[Mapping[str, Any]]) -> tuple[Any, Any]:
    """The on-time rate and the score per month (gaps: no submissions, not rated)."""
    labels = [row["month"].strftime("%b %y") for row in trend]
    on_time = line_chart(
        "On-time rate per month",
        [(label, _percent(row["on_time_rate"])) for label, row in zip(labels, trend, strict=True)],
        unit="%",
        y_max=100,
    )
    rated = [row for row in trend if row["score"] is not None]
    words = (
        f"{len(rated)} of {len(trend)} months rated"
        + (
            ": " + "; ".join(f"{row['month']:%b %Y} {row['score']}" for row in rated)
            if rated
            else ""
        )
        + (". Months not rated are gaps." if len(rated) < len(trend) else ".")
    )
    scores = line_chart(
        "Score per month",
        [(label, row["score"]) for label, row in zip(labels, trend, strict=True)],
        y_max=100,
        description=words,
    )
    return on_time, scores


@router.get("/suppliers/{supplier_id}")
def scorecard_page(
    request: Request,
    supplier_id: PathId,
    viewer: SignedIn,
    session: ReadSession,
    settings: AppSettings,
    start: From = None,
    end: To = None,
    project: ProjectChoice = None,
    format: Download = None,
) -> Response:
    """One supplier's scorecard: the figures, slips by reason, and a 12-month trend."""
    supplier = SupplierService(session, viewer.actor).get(supplier_id)  # 404: not yours
    service = ReportService(session, viewer.actor, settings.app_timezone)
    window = window_of(service, start, end, project, supplier_id)
    trend = service.supplier_trend(supplier_id, window.project_id, MIN_COMPLETED)
    here = f"/suppliers/{supplier_id}"
    query = filters_of(window)
    if format is not None:
        return exports.respond(format, TREND, trend, f"supplier-{supplier_id}-trend")
    found = service.supplier_performance(window, MIN_COMPLETED)
    row = next((r for r in found if r["supplier_id"] == supplier_id), None) or _empty(supplier)
    slips = sorted(row["slips_by_reason"].items(), key=lambda pair: (-pair[1], pair[0]))
    on_time_chart, score_line = trend_charts(trend)
    trend_start, trend_end = service.trend_window()
    return render(
        request,
        "scorecard.html",
        viewer,
        supplier=supplier,
        row=row,
        window=window,
        projects=project_choices(session, viewer),
        slips=slips,
        slips_chart=bar_chart("Due-date slips by reason", slips),
        trend=trend,
        trend_start=trend_start,
        trend_end=trend_end,
        on_time_chart=on_time_chart,
        score_chart=score_line,
        min_completed=MIN_COMPLETED,
        downloads=downloads(here, query),
    )
