"""Pages: one task instance (details, history, the actor's moves) and its forms.

Every form calls InstanceFlows.update with a TaskInstanceUpdate, as the API's PATCH does, with
the version the page was rendered with (a stale one is the 412 page): the same status
machine, prerequisite gate, date rules, history rows and audit. A due-date move is previewed
first (InstanceFlows.preview_due builds the very plan the update would apply, and applies
nothing); Apply is a separate form on the preview.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from supplytrack.api.deps import AppSettings, DbSession, flow_of
from supplytrack.audit.models import ChangeSource, ReasonCode
from supplytrack.audit.service import HistoryFilter
from supplytrack.core.identity import Role
from supplytrack.core.openapi import PathId
from supplytrack.core.settings import Settings
from supplytrack.core.time import today
from supplytrack.flows.instances import DuePreview, InstanceFlows
from supplytrack.tasks.schemas import TaskInstanceUpdate
from supplytrack.tasks.service import TaskService
from supplytrack.web.base import (
    PageRoute,
    PlannerViewer,
    Posted,
    SignedIn,
    TaskViewer,
    Viewer,
    field,
    redirect,
    render,
)
from supplytrack.web.pages.tasks_common import (
    back_of,
    notice_of,
    parse_id,
    status_class,
    update_command,
    version_of,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
HISTORY_PAGE = 50
WRITERS = frozenset({Role.ADMIN, Role.MANAGER, Role.SUPPLIER})


def _context(
    session: Session, viewer: Viewer, settings: Settings, instance_id: int, before: int | None
) -> dict[str, Any]:
    """What the instance page shows (404 when the actor may not see the instance)."""
    service = TaskService(session, viewer.actor)
    row = service.read(instance_id, today(settings.app_timezone))
    history = service.history(row.id, HistoryFilter(), before_id=before, limit=HISTORY_PAGE + 1)
    writer = viewer.actor.role in WRITERS
    return {
        "row": row,
        "label": service.labels([row.id])[row.id],
        "history": history[:HISTORY_PAGE],
        "older": history[HISTORY_PAGE - 1].id if len(history) > HISTORY_PAGE else None,
        "newest": before is None,
        "offers": service.offered_moves([row])[row.id] if writer else None,
        "may_write_notes": writer,
        "reason_codes": list(ReasonCode),
        "status_class": status_class,
        "preview": None,
        "due_form": {"actual_due": "", "reason_code": "", "reason": "", "cascade": False},
    }


@router.get("/tasks/{instance_id}")
def instance_page(
    request: Request,
    instance_id: PathId,
    viewer: SignedIn,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """One task instance: details, history (newest first), and what this actor may do."""
    before = parse_id(request.query_params.get("before", "").strip(), "before")
    context = _context(session, viewer, settings, instance_id, before)
    return render(
        request, "instance.html", viewer, notice=notice_of(request.query_params), **context
    )


@router.get("/tasks/{instance_id}/due")
def due_form(request: Request, instance_id: PathId, viewer: SignedIn) -> Response:
    """The due-date form lives on the instance page (the error page's Back leads here)."""
    return redirect(request, f"/tasks/{instance_id}#due")


def _update(
    session: Session,
    viewer: Viewer,
    settings: Settings,
    instance_id: int,
    command: TaskInstanceUpdate,
    version: int,
) -> None:
    """The API's PATCH of one instance (history, audit, version, the same errors)."""
    InstanceFlows(flow_of(session, viewer.actor, settings)).update(instance_id, command, version)


def _after(fields: dict[str, str], instance_id: int, notice: str) -> str:
    """Where a form returns to, with its notice code."""
    back = back_of(fields, f"/tasks/{instance_id}")
    anchor = f"#task-{instance_id}" if back == "/portal" else ""
    return f"{back}?notice={notice}{anchor}"


@router.post("/tasks/{instance_id}/status")
def move_status(
    request: Request,
    instance_id: PathId,
    viewer: TaskViewer,
    fields: Posted,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """Move the status through the machine (the button pressed names the target)."""
    version = version_of(fields)
    values: dict[str, Any] = {"status": field(fields, "status", limit=40)}
    reason = field(fields, "reason", required=False)
    if reason:
        values["reason"] = reason
    _update(session, viewer, settings, instance_id, update_command(values), version)
    return redirect(request, _after(fields, instance_id, "status"))


@router.post("/tasks/{instance_id}/notes")
def write_notes(
    request: Request,
    instance_id: PathId,
    viewer: TaskViewer,
    fields: Posted,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """Replace the notes (empty clears them)."""
    version = version_of(fields)
    notes = field(fields, "notes", required=False, limit=10_000)
    command = update_command({"notes": notes or None})
    _update(session, viewer, settings, instance_id, command, version)
    return redirect(request, _after(fields, instance_id, "notes"))


def _due_values(fields: dict[str, str]) -> dict[str, Any]:
    """The due-date form as the API's PATCH body (camelCase, blanks left out)."""
    values: dict[str, Any] = {
        "actualDue": field(fields, "actualDue", limit=10),
        "cascade": fields.get("cascade", "") in ("1", "on", "true"),
    }
    code = field(fields, "reasonCode", required=False, limit=40)
    reason = field(fields, "reason", required=False)
    if code:
        values["reasonCode"] = code
    if reason:
        values["reason"] = reason
    return values


@router.post("/tasks/{instance_id}/due/preview")
def preview_due(
    request: Request,
    instance_id: PathId,
    viewer: PlannerViewer,
    fields: Posted,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """The instance page with the moves a due-date change would make; nothing changes."""
    version = version_of(fields)
    values = _due_values(fields)
    command = update_command(values)
    flows = InstanceFlows(flow_of(session, viewer.actor, settings))
    preview = flows.preview_due(instance_id, command, version)
    context = _context(session, viewer, settings, instance_id, None)
    context["preview"] = _preview_view(TaskService(session, viewer.actor), preview)
    context["due_form"] = {
        "actual_due": values["actualDue"],
        "reason_code": values.get("reasonCode", ""),
        "reason": values.get("reason", ""),
        "cascade": values["cascade"],
    }
    return render(request, "instance.html", viewer, notice=None, **context)


def _preview_view(service: TaskService, preview: DuePreview) -> dict[str, Any]:
    """The preview's moves (the seed first, then by new date) with their milestones."""
    labels = service.labels(list(preview.moves))
    moves = sorted(
        preview.moves.items(),
        key=lambda item: (item[0] != preview.instance_id, item[1][1], item[0]),
    )
    return {
        "moves": [
            {
                "id": instance_id,
                "milestone": labels[instance_id].milestone if instance_id in labels else "",
                "old": old,
                "new": new,
                "cascaded": source is ChangeSource.CASCADE,
            }
            for instance_id, (old, new, source) in moves
        ],
        "violations": [
            {"code": error.code, "message": error.message} for error in preview.violations
        ],
    }


@router.post("/tasks/{instance_id}/due")
def move_due(
    request: Request,
    instance_id: PathId,
    viewer: PlannerViewer,
    fields: Posted,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """Apply the previewed due-date change (checked again, as the API's PATCH checks it)."""
    version = version_of(fields)
    command = update_command(_due_values(fields))
    _update(session, viewer, settings, instance_id, command, version)
    return redirect(request, _after(fields, instance_id, "due"))
