"""HTTP routes of the compliance reports: JSON pages, or every row as CSV or XLSX.

Every role may read them; a supplier token's are narrowed to its own supplier (another
supplier's id is a 404, like an id nothing has).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from supplytrack.api.deps import AnyActor, AppSettings, DbSession
from supplytrack.api.reports import Format, ReadSession
from supplytrack.audit.access import access_log_of
from supplytrack.core.openapi import Cursor, Limit, QueryId, responses
from supplytrack.core.pagination import DEFAULT_LIMIT, decode_id_cursor, encode_id_cursor
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import IsoDate, Page
from supplytrack.reports import exports
from supplytrack.reports.compliance import ComplianceReports, Filter, page
from supplytrack.reports.files import Column
from supplytrack.reports.schemas import (
    ApprovalsByApprover,
    ApprovedWithOpenPrerequisite,
    ChangesByActor,
    DueDateChange,
    OverdueAging,
    SupplierAccess,
)

router = APIRouter(
    prefix="/api/reports/compliance", tags=["compliance reports"], route_class=UnitOfWorkRoute
)
_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            exports.XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "The report (JSON, CSV or XLSX).",
    }
}
_RESPONSES = {**responses(403, 404, 422), **_FILES}

ProjectId = Annotated[QueryId, Query(alias="projectId", description="Only of this project.")]
SupplierId = Annotated[
    QueryId,
    Query(alias="supplierId", description="Only of this supplier (a supplier token: its own)."),
]
Start = Annotated[
    IsoDate | None, Query(alias="from", description="From this day (default: a year ago).")
]
End = Annotated[
    IsoDate | None, Query(alias="to", description="To this day, included (default: today).")
]
Period = Annotated[
    Literal["day", "week", "month"],
    Query(description="day, week (ISO, from Monday) or month, in APP_TIMEZONE."),
]

M = TypeVar("M", bound=BaseModel)


def _answer(
    model: type[M],
    format: str,
    columns: Sequence[Column],
    name: str,
    rows: Callable[[int | None], tuple[list[dict[str, Any]], str | None]],
    limit: int,
) -> Page[M]:
    """A JSON page of ``rows(limit)``, or every row (``rows(None)``) as a CSV or XLSX file."""
    if format != "json":
        every, _ = rows(None)
        return exports.respond(format, columns, every, name)  # type: ignore[return-value]
    items, following = rows(limit)
    return Page[model](  # type: ignore[valid-type]
        items=[model.model_validate(row) for row in items], next_cursor=following
    )


def _reports(session: Any, actor: Any, settings: Any) -> ComplianceReports:
    return ComplianceReports(session, actor, settings.app_timezone)


@router.get("/changes", responses=_RESPONSES)
def changes(
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    start: Start = None,
    end: End = None,
    period: Period = "month",
    actor_id: Annotated[QueryId, Query(alias="actorId", description="Only this token's.")] = None,
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ChangesByActor]:
    """Changes per actor and period: instance history and the audit log, counted apart.

    A supplier token counts the history of its own instances only (no audit-log rows).
    """
    reports = _reports(session, actor, settings)
    where = reports.narrowed(start, end, None, None)
    return _answer(
        ChangesByActor,
        format,
        exports.CHANGES,
        "compliance-changes",
        lambda n: page(reports.changes(where, period, actor_id), cursor, n),
        limit,
    )


@router.get("/due-date-changes", responses=_RESPONSES)
def due_date_changes(
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    start: Start = None,
    end: End = None,
    project_id: ProjectId = None,
    supplier_id: SupplierId = None,
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DueDateChange]:
    """Due-date changes without a reason (no code, no text), or moving past SOP, newest first."""
    reports = _reports(session, actor, settings)
    where = reports.narrowed(start, end, project_id, supplier_id)
    before_id = decode_id_cursor(cursor)

    def rows(n: int | None) -> tuple[list[dict[str, Any]], str | None]:
        found = reports.due_date_changes(where, before_id, n)
        if n is None or len(found) <= n:
            return found, None
        return found[:n], encode_id_cursor(found[n - 1]["id"])

    return _answer(
        DueDateChange, format, exports.DUE_DATE_CHANGES, "compliance-due-date-changes", rows, limit
    )


@router.get("/approvals", responses=_RESPONSES)
def approvals(
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    start: Start = None,
    end: End = None,
    project_id: ProjectId = None,
    supplier_id: SupplierId = None,
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ApprovalsByApprover]:
    """Per approver: approvals, rejections, first and last decision, instances decided on."""
    reports = _reports(session, actor, settings)
    where = reports.narrowed(start, end, project_id, supplier_id)
    return _answer(
        ApprovalsByApprover,
        format,
        exports.APPROVALS,
        "compliance-approvals",
        lambda n: page(reports.approvals(where), cursor, n),
        limit,
    )


@router.get("/approved-with-open-prerequisites", responses=_RESPONSES)
def approved_with_open_prerequisites(
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    project_id: ProjectId = None,
    supplier_id: SupplierId = None,
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ApprovedWithOpenPrerequisite]:
    """Approvals given while a prerequisite was not APPROVED or WAIVED (normally none).

    The prerequisite gate refuses such approvals; imports (source IMPORT) bypass it.
    """
    reports = _reports(session, actor, settings)
    where = reports.narrowed(None, None, project_id, supplier_id)
    return _answer(
        ApprovedWithOpenPrerequisite,
        format,
        exports.APPROVED_WITH_OPEN_PREREQUISITES,
        "compliance-approved-with-open-prerequisites",
        lambda n: reports.approved_with_open_prerequisites(where, cursor, n),
        limit,
    )


@router.get("/supplier-access", responses=_RESPONSES)
def supplier_access(
    request: Request,
    actor: AnyActor,
    session: DbSession,
    settings: AppSettings,
    start: Start = None,
    end: End = None,
    period: Period = "month",
    supplier_id: SupplierId = None,
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SupplierAccess]:
    """Per supplier and period, from the access log: requests, tokens, refused, first, last.

    Staff read every supplier's; a supplier token its own supplier's only.
    """
    reports = _reports(session, actor, settings)
    where: Filter = reports.narrowed(start, end, None, supplier_id)
    access_log_of(request.app.state.database).flush()
    return _answer(
        SupplierAccess,
        format,
        exports.SUPPLIER_ACCESS,
        "compliance-supplier-access",
        lambda n: page(reports.supplier_access(where, period), cursor, n),
        limit,
    )


@router.get("/overdue-aging", responses=_RESPONSES)
def overdue_aging(
    actor: AnyActor,
    session: ReadSession,
    settings: AppSettings,
    project_id: ProjectId = None,
    supplier_id: SupplierId = None,
    format: Format = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[OverdueAging]:
    """Per supplier: open overdue instances by days overdue (1-7, 8-30, 31-90, over 90)."""
    reports = _reports(session, actor, settings)
    where = reports.narrowed(None, None, project_id, supplier_id)
    return _answer(
        OverdueAging,
        format,
        exports.OVERDUE_AGING,
        "compliance-overdue-aging",
        lambda n: page(reports.overdue_aging(where), cursor, n),
        limit,
    )
