"""Pages: the bulk date shift (form, preview, apply, undo) and its operations' live progress.

Admins and managers only, like the API's bulk routes (and under the same bulk rate limit).
The preview and the apply are BulkFlows' own, so a page refuses what the API refuses: a
stale preview is the 409 page, a change that breaks a rule is refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from supplytrack.api.deps import AppSettings, DbSession, admit, flow_of
from supplytrack.audit.models import ReasonCode
from supplytrack.bulk.exceptions import PreviewStale
from supplytrack.bulk.models import BulkKind, BulkOperation, BulkState
from supplytrack.bulk.schemas import DateChange
from supplytrack.bulk.service import BulkService
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.openapi import PathId
from supplytrack.core.schemas import MAX_ID
from supplytrack.flows.bulk import BulkFlows
from supplytrack.jobs.models import Job, JobState
from supplytrack.jobs.service import JobService
from supplytrack.jobs.worker import job_queue
from supplytrack.projects.models import Project
from supplytrack.projects.service import ProjectService
from supplytrack.reports import exports
from supplytrack.reports.files import Column
from supplytrack.suppliers.service import AssignmentService, SupplierService
from supplytrack.tasks.enums import TaskStatus
from supplytrack.templates.service import TemplateService
from supplytrack.web.base import (
    MAX_FORM_FIELDS,
    PageRoute,
    PlannerViewer,
    Posted,
    Viewer,
    field,
    redirect,
    render,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RECENT = 10
MAX_SUPPLIERS_LISTED = 5000
HOW = {"days": "calendar days", "workingDays": "working days", "date": "a new date"}
NOTICES = {
    "applied": "The date change was applied.",
    "queued": "The date change runs as a job: this page follows its progress.",
    "undone": "The operation was undone: every due date it moved is back.",
}
# What the progress follower (static/app.js) shows, and stops at (DONE, FAILED, ...).
PROGRESS_STATES = {
    BulkState.QUEUED: "QUEUED",
    BulkState.RUNNING: "RUNNING",
    BulkState.APPLIED: "DONE",
    BulkState.PARTIAL: "DONE",
    BulkState.FAILED: "FAILED",
    BulkState.CANCELLED: "CANCELLED",
    BulkState.UNDONE: "UNDONE",
}
LIVE = frozenset({BulkState.QUEUED, BulkState.RUNNING})
Format = Annotated[Literal["csv", "xlsx"] | None, Query(description="csv or xlsx.")]


@dataclass(frozen=True)
class ChangeForm:
    """A posted date-change form: the last value of each field, and every value of each."""

    fields: dict[str, str]
    lists: dict[str, list[str]]


async def change_form(request: Request, fields: Posted) -> ChangeForm:
    """Dependency: the form (after the CSRF checks), with the values of multiple selects."""
    body = await request.body()  # read (and checked) by Posted already: kept by Starlette
    lists = parse_qs(body.decode("utf-8"), keep_blank_values=False, max_num_fields=MAX_FORM_FIELDS)
    return ChangeForm(fields, lists)


ChangeFields = Annotated[ChangeForm, Depends(change_form)]


def _invalid(message: str) -> SupplyTrackError:
    return SupplyTrackError(message, status=422, code="VALIDATION_ERROR")


def _values(form: ChangeForm, name: str) -> list[str]:
    """Every value of a field: repeated (a multiple select) or comma-separated (hidden)."""
    return [
        part.strip()
        for value in form.lists.get(name, [])
        for part in value.split(",")
        if part.strip()
    ]


def _ids(form: ChangeForm, name: str) -> list[int]:
    values = _values(form, name)
    if len(values) > 1000:
        raise _invalid(f"{name}: at most 1000 may be chosen")
    try:
        ids = sorted({int(value) for value in values})
    except ValueError as error:
        raise _invalid(f"{name} must be ids") from error
    if any(not 1 <= value <= MAX_ID for value in ids):
        raise _invalid(f"{name} must be ids")
    return ids


def _project_of(form: ChangeForm) -> int:
    raw = field(form.fields, "project", limit=12)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise _invalid("project must be a project id")
    return int(raw)


def change_of(form: ChangeForm) -> DateChange:
    """The DateChange of the form, validated as the API validates it (a 422 page otherwise)."""
    fields = form.fields
    how = fields.get("how", "days")
    if how not in HOW:
        raise _invalid("how must be days, workingDays or date")
    values: dict[str, Any] = {
        "templateIds": _ids(form, "templateIds"),
        "supplierIds": _ids(form, "supplierIds"),
        "statuses": sorted(set(_values(form, "statuses"))),
        "cascade": fields.get("cascade") == "on",
    }
    for name in ("dueFrom", "dueTo", "reasonCode"):
        value = field(fields, name, required=False, limit=40)
        if value:
            values[name] = value
    reason = field(fields, "reason", required=False, limit=2000)
    if reason:
        values["reason"] = reason
    if how == "date":
        values["newDate"] = field(fields, "newDate", limit=10)
    else:
        amount = field(fields, "amount", limit=6)
        try:
            number = int(amount)
        except ValueError as error:
            raise _invalid("amount must be a whole number of days") from error
        values["shiftDays" if how == "days" else "shiftWorkingDays"] = number
    try:
        return DateChange.model_validate(values)
    except ValidationError as error:
        problems = [
            (".".join(str(part) for part in item["loc"]) + ": " if item["loc"] else "")
            + str(item["msg"])
            for item in error.errors()
        ]
        raise _invalid("; ".join(problems)) from error


def hidden_fields(project_id: int, form: ChangeForm, change: DateChange) -> list[tuple[str, str]]:
    """The change again as hidden fields of the apply form (lists comma-separated)."""
    fields = form.fields
    how = fields.get("how", "days")
    pairs = [
        ("project", str(project_id)),
        ("how", how),
        ("supplierIds", ",".join(str(i) for i in change.supplier_ids)),
        ("templateIds", ",".join(str(i) for i in change.template_ids)),
        ("statuses", ",".join(change.statuses)),
        ("dueFrom", change.due_from.isoformat() if change.due_from else ""),
        ("dueTo", change.due_to.isoformat() if change.due_to else ""),
        ("reasonCode", change.reason_code or ""),
        ("reason", change.reason or ""),
    ]
    if how == "date" and change.new_date is not None:
        pairs.append(("newDate", change.new_date.isoformat()))
    else:
        amount = change.shift_days if how == "days" else change.shift_working_days
        pairs.append(("amount", str(amount)))
    if change.cascade:
        pairs.append(("cascade", "on"))
    return [(name, value) for name, value in pairs if value]


def _admitted(request: Request, viewer: Viewer) -> None:
    """Count a bulk submission against the token's bulk limit, as the API's routes do."""
    admit(request.app.state.rate_limiter, viewer.actor, bulk=True)


def _project_labels(session: Session, viewer: Viewer, ids: Sequence[int]) -> dict[int, Project]:
    return {p.id: p for p in ProjectService(session, viewer.actor).many(sorted(set(ids)))}


def _operation_rows(session: Session, viewer: Viewer) -> list[dict[str, Any]]:
    """The recent operations with their project codes (two queries)."""
    operations = BulkService(session, viewer.actor).recent(RECENT)
    projects = _project_labels(
        session, viewer, [pid for op in operations for pid in projects_of(op.project_id, op.params)]
    )
    rows = []
    for op in operations:
        codes = [
            projects[pid].code if pid in projects else f"#{pid}"
            for pid in projects_of(op.project_id, op.params)
        ]
        rows.append(
            {
                "id": op.id,
                "kind": op.kind.value,
                "state": op.state.value,
                "projects": ", ".join(codes),
                "actor": op.actor,
                "created_at": op.created_at,
                "finished_at": op.finished_at,
                "counts": counts_text(op.summary),
            }
        )
    return rows


OPERATION_COLUMNS = [
    Column("id", lambda row: row["id"], "int"),
    Column("kind", lambda row: row["kind"]),
    Column("state", lambda row: row["state"]),
    Column("projects", lambda row: row["projects"]),
    Column("actor", lambda row: row["actor"]),
    Column("createdAt", lambda row: row["created_at"], "datetime"),
    Column("finishedAt", lambda row: row["finished_at"], "datetime"),
    Column("counts", lambda row: row["counts"]),
]


def projects_of(project_id: int | None, params: dict[str, Any]) -> list[int]:
    """The projects an operation is about (one, or those of a multi-project shift)."""
    if project_id is not None:
        return [project_id]
    return [int(pid) for pid in params.get("projectIds") or []]


def counts_text(summary: dict[str, Any]) -> str:
    """An operation's counts in words: '12 applied, 3 cascaded'."""
    return ", ".join(f"{value} {name}" for name, value in summary.items() if isinstance(value, int))


DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AMOUNT = re.compile(r"^-?\d{1,4}$")


def prefill(request: Request) -> dict[str, Any]:
    """What the form shows chosen: the query's values (the preview's "Change the selection")."""
    params = request.query_params
    form = ChangeForm(
        {name: params.get(name, "") for name in params},
        {name: params.getlist(name) for name in params},
    )
    fields = form.fields

    def ids(name: str) -> set[int]:
        return {int(value) for value in _values(form, name) if value.isdigit()}

    def day(name: str) -> str:
        value = fields.get(name, "")
        return value if DAY.match(value) else ""

    amount = fields.get("amount", "")
    reason_code = fields.get("reasonCode", "")
    return {
        "suppliers": ids("supplierIds"),
        "milestones": ids("templateIds"),
        "statuses": set(_values(form, "statuses")),
        "due_from": day("dueFrom"),
        "due_to": day("dueTo"),
        "how": fields.get("how") if fields.get("how") in HOW else "days",
        "amount": amount if AMOUNT.match(amount) else "7",
        "new_date": day("newDate"),
        "cascade": fields.get("cascade") == "on",
        "reason_code": reason_code if reason_code in set(ReasonCode) else "",
        "reason": fields.get("reason", "")[:2000],
    }


@router.get("/bulk")
def bulk_page(
    request: Request,
    viewer: PlannerViewer,
    session: DbSession,
    project: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    format: Format = None,
) -> Response:
    """The date-shift form (a project first, then its instances and the shift) and recent ops."""
    recent = _operation_rows(session, viewer)
    if format is not None:
        return exports.respond(format, OPERATION_COLUMNS, recent, "bulk-operations")
    projects_service = ProjectService(session, viewer.actor)
    projects = projects_service.many(projects_service.visible_ids())
    chosen = projects_service.get(project) if project is not None else None
    suppliers: list[tuple[int, str, str]] = []
    milestones: list[tuple[int, str]] = []
    if chosen is not None:
        seen: set[int] = set()
        for row in AssignmentService(session, viewer.actor).page(
            chosen.id, status=None, after_id=None, limit=MAX_SUPPLIERS_LISTED
        ):
            if row.supplier_id not in seen:
                seen.add(row.supplier_id)
                removed = " (removed from the project)" if row.status != "ACTIVE" else ""
                suppliers.append((row.supplier_id, row.supplier_code, row.supplier_name + removed))
        suppliers.sort(key=lambda s: s[1])
        milestones = [
            (t.id, t.name) for t in TemplateService(session, viewer.actor).of_projects([chosen.id])
        ]
    return render(
        request,
        "bulk.html",
        viewer,
        projects=projects,
        project=chosen,
        suppliers=suppliers,
        milestones=milestones,
        statuses=[status.value for status in TaskStatus],
        reason_codes=[code.value for code in ReasonCode],
        recent=recent,
        picked=prefill(request),
        query=f"?project={chosen.id}&" if chosen is not None else "?",
    )


@router.post("/bulk/preview")
def bulk_preview(
    request: Request,
    viewer: PlannerViewer,
    form: ChangeFields,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """What the change would do: counts, a sample of moves, the rules it breaks; writes nothing."""
    _admitted(request, viewer)
    project_id = _project_of(form)
    change = change_of(form)
    flows = BulkFlows(flow_of(session, viewer.actor, settings))
    preview = flows.preview_dates(project_id, change)
    project = ProjectService(session, viewer.actor).get(project_id)
    sample = preview["sample"]
    suppliers = SupplierService(session, viewer.actor).codes_and_names(
        sorted({move["supplier_id"] for move in sample})
    )
    milestones = {
        t.id: t.name for t in TemplateService(session, viewer.actor).of_projects([project_id])
    }
    moves = [
        {
            **move,
            "supplier": suppliers.get(move["supplier_id"], (f"#{move['supplier_id']}", ""))[0],
            "milestone": milestones.get(move["task_template_id"], f"#{move['task_template_id']}"),
        }
        for move in sample
    ]
    return render(
        request,
        "bulk_preview.html",
        viewer,
        project=project,
        preview=preview,
        moves=moves,
        described=describe_change(change.model_dump(mode="json"), suppliers, milestones),
        hidden=[
            *hidden_fields(project_id, form, change),
            ("previewToken", preview["preview_token"]),
        ],
        threshold=settings.bulk_job_threshold,
        can_apply=not preview["violations"] and preview["moves"] > 0,
        needs_reason_code=change.reason_code is None,
    )


@router.post("/bulk/apply")
def bulk_apply(
    request: Request,
    viewer: PlannerViewer,
    form: ChangeFields,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """Apply the previewed change (refused when it differs from the preview): inline or a job."""
    _admitted(request, viewer)
    project_id = _project_of(form)
    change = change_of(form)
    token = field(form.fields, "previewToken", limit=32)
    flows = BulkFlows(
        flow_of(session, viewer.actor, settings), job_queue(request.app.state.database)
    )
    if form.fields.get("background") == "on":
        # As `supplytrack bulk shift-dates` does: one checked operation and one job, whatever
        # its size; checked against the preview first, exactly as apply_dates checks it.
        now = flows.preview_dates(project_id, change)["preview_token"]
        if now != token:
            raise PreviewStale(now)
        job = flows.queue_shift([project_id], change)
        operation_id = int(job.payload["bulkOperationId"])
        notice = "queued"
    else:
        result = flows.apply_dates(project_id, change, token)
        operation_id = int(result["bulk_operation_id"])
        notice = "queued" if result["job_id"] is not None else "applied"
    return redirect(request, f"/bulk/operations/{operation_id}?notice={notice}")


# ---- one operation -------------------------------------------------------------------------


def progress_of(operation: dict[str, Any] | BulkOperation, job: Job | None) -> dict[str, Any]:
    """{"processed", "total", "state"} of an operation: its job's counts while it runs."""
    if isinstance(operation, BulkOperation):
        state, summary = operation.state, operation.summary
    else:
        state, summary = operation["state"], operation["summary"]
    done = int(summary.get("applied", summary.get("reverted", 0)) or 0)
    shown = PROGRESS_STATES[BulkState(state)]
    if job is not None:
        processed, total = job.processed, job.total
        if state not in LIVE:
            processed = max(processed, done) if state != BulkState.UNDONE else processed
        elif job.state == JobState.RUNNING:
            shown = "RUNNING"  # a worker holds it (the operation says so a moment later)
    else:
        processed = total = done
    return {"processed": processed, "total": total, "state": shown}


def _job_of(session: Session, viewer: Viewer, job_id: int | None) -> Job | None:
    return JobService(session, viewer.actor).get(job_id) if job_id is not None else None


def describe_change(
    params: dict[str, Any],
    suppliers: dict[int, tuple[str, str]],
    milestones: dict[int, str],
) -> list[tuple[str, str]]:
    """A date change's parameters in words, as (what, value) pairs."""

    def named(ids: list[int], names: dict[int, str]) -> str:
        return ", ".join(names.get(i, f"#{i}") for i in ids) if ids else "all"

    if params.get("shift_days") is not None:
        shift = f"move by {params['shift_days']} calendar days"
    elif params.get("shift_working_days") is not None:
        shift = f"move by {params['shift_working_days']} working days"
    else:
        shift = f"set to {params.get('new_date')}"
    codes = {sid: code for sid, (code, _name) in suppliers.items()}
    due = "any"
    if params.get("due_from") or params.get("due_to"):
        due = f"from {params.get('due_from') or 'any'} to {params.get('due_to') or 'any'}"
    return [
        ("Change", shift),
        ("Suppliers", named(params.get("supplier_ids") or [], codes)),
        ("Milestones", named(params.get("template_ids") or [], milestones)),
        ("Statuses", ", ".join(params.get("statuses") or []) or "all open"),
        ("Due", due),
        ("Cascade", "yes: dependent milestones move too" if params.get("cascade") else "no"),
        ("Reason code", params.get("reason_code") or "none"),
        ("Reason", params.get("reason") or "none"),
    ]


def _described(session: Session, viewer: Viewer, view: dict[str, Any]) -> list[tuple[str, str]]:
    params: dict[str, Any] = view["params"]
    kind = view["kind"]
    if kind == BulkKind.UNDO:
        return [
            ("Undoes", f"operation {params.get('undoOf')}"),
            ("Reason", params.get("reason") or "none"),
        ]
    if kind == BulkKind.STATUS_UPDATE:
        return [
            ("Status", str(params.get("status"))),
            ("Mode", str(params.get("mode"))),
            ("Reason", params.get("reason") or "none"),
        ]
    projects = projects_of(view["project_id"], params)
    suppliers = SupplierService(session, viewer.actor).codes_and_names(
        params.get("supplier_ids") or []
    )
    milestones = {
        t.id: t.name for t in TemplateService(session, viewer.actor).of_projects(projects)
    }
    return describe_change(params, suppliers, milestones)


@router.get("/bulk/operations/{operation_id}")
def operation_page(
    request: Request,
    operation_id: PathId,
    viewer: PlannerViewer,
    session: DbSession,
    notice: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One operation: who, when, what, counts, state; live progress while its job runs; undo."""
    bulk = BulkService(session, viewer.actor)
    view = bulk.view(operation_id)
    job = _job_of(session, viewer, view["job_id"])
    undo = bulk.undone_by(operation_id) if view["state"] == BulkState.UNDONE else None
    undo_job = _job_of(session, viewer, undo.job_id) if undo is not None else None
    projects = _project_labels(session, viewer, projects_of(view["project_id"], view["params"]))
    return render(
        request,
        "bulk_operation.html",
        viewer,
        notice=NOTICES.get(notice or ""),
        op=view,
        job=job,
        projects=list(projects.values()),
        described=_described(session, viewer, view),
        progress=progress_of(view, job),
        live=view["state"] in LIVE,
        undo=undo,
        undo_progress=progress_of(undo, undo_job) if undo is not None else None,
        undo_live=undo is not None and undo.state in LIVE,
        undoable=view["state"] in (BulkState.APPLIED, BulkState.PARTIAL)
        and view["kind"] != BulkKind.UNDO,
        counts=[(name, value) for name, value in view["summary"].items()],
        finished=_moment(view["finished_at"]),
        created=_moment(view["created_at"]),
    )


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


@router.get("/bulk/operations/{operation_id}/progress")
def operation_progress(operation_id: PathId, viewer: PlannerViewer, session: DbSession) -> Response:
    """The live figures of an operation, as JSON for the progress bar."""
    view = BulkService(session, viewer.actor).view(operation_id)
    figures = progress_of(view, _job_of(session, viewer, view["job_id"]))
    return JSONResponse(figures, headers={"cache-control": "no-store"})


@router.post("/bulk/operations/{operation_id}/undo")
def operation_undo(
    request: Request,
    operation_id: PathId,
    viewer: PlannerViewer,
    fields: Posted,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """Undo the operation whole (a 409 page when rows changed since), then back to it."""
    _admitted(request, viewer)
    reason = field(fields, "reason", required=False, limit=2000) or None
    BulkFlows(flow_of(session, viewer.actor, settings)).undo(operation_id, reason)
    return redirect(request, f"/bulk/operations/{operation_id}?notice=undone")
