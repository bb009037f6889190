"""The vocabulary of the bad-input cases: a bad request, the routes, ids and bodies it uses."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from supplytrack.core.time import today
from tests.contract.support import World

MIB = 1024 * 1024
BIG = 10**30
BAD_IDS = (0, -1, 2**31, BIG)


@dataclass(frozen=True)
class Ref:
    """A field of the data set, filled in when the case runs."""

    name: str


@dataclass(frozen=True)
class Bad:
    """One bad request and the answer SPEC promises."""

    method: str
    path: str  # formatted with the data set's fields, e.g. /api/projects/{project_a}
    status: int
    code: str | None = None
    json: Any = None
    content: bytes | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    chunked: bool = False


def resolve(value: Any, world: World) -> Any:
    """Replace every Ref inside ``value`` by the data set's value."""
    if isinstance(value, Ref):
        return getattr(world, value.name)
    if isinstance(value, dict):
        return {key: resolve(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, world) for item in value]
    return value


def due(days: int = 40) -> str:
    """A valid planned date: today plus ``days``."""
    return (today() + timedelta(days=days)).isoformat()


def b64(value: Any) -> str:
    """A cursor-like string: urlsafe base64 of JSON (or of raw bytes); ints of any size."""
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


JSON = {"content-type": "application/json"}
PROJECT = {"code": "BAD-1", "name": "Bad program"}
SUPPLIER = {"code": "BAD-S1", "name": "Bad supplier"}
TEMPLATE = {"name": "Bad milestone", "canonicalDue": due()}
PROJECT_A = "/api/projects/{project_a}"
SUPPLIER_A = "/api/suppliers/{supplier_a}"
TEMPLATES_A = "/api/projects/{project_a}/task-templates"
ASSIGN_A = "/api/projects/{project_a}/suppliers"
INSTANCE_A = "/api/task-instances/{instance_a}"
TEMPLATE_A = "/api/task-templates/{template_a}"
CALENDAR_A = "/api/projects/{project_a}/calendar"
BULK_STATUS = "/api/task-instances/bulk-status-update"
DATES_A = "/api/projects/{project_a}/bulk-update-dates"
SHIFT = {"shiftDays": 1, "reasonCode": "PLAN_CHANGE"}

# Routes that take a JSON body, with a body each accepts.
WRITES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "create project": ("POST", "/api/projects", PROJECT),
    "patch project": ("PATCH", PROJECT_A, {"name": "x"}),
    "put project": ("PUT", PROJECT_A, PROJECT),
    "create supplier": ("POST", "/api/suppliers", SUPPLIER),
    "patch supplier": ("PATCH", SUPPLIER_A, {"name": "x"}),
    "put supplier": ("PUT", SUPPLIER_A, SUPPLIER),
    "assign": ("POST", ASSIGN_A, {"supplierId": Ref("supplier_c")}),
    "create template": ("POST", TEMPLATES_A, TEMPLATE),
    "patch template": ("PATCH", TEMPLATE_A, {"name": "x"}),
    "create instance": (
        "POST",
        "/api/task-instances",
        {"supplierProjectId": Ref("assignment_a"), "taskTemplateId": Ref("template_a_extra")},
    ),
    "patch instance": ("PATCH", INSTANCE_A, {"notes": "x"}),
    "create token": ("POST", "/api/tokens", {"name": "bad", "role": "viewer"}),
    "replace calendar": ("PUT", CALENDAR_A, {"workingWeekdays": ["MON", "TUE"]}),
    "bulk status": ("POST", BULK_STATUS, {"ids": [Ref("instance_a")], "status": "IN_PROGRESS"}),
    "apply dates": ("POST", DATES_A, SHIFT),
}
LISTS: dict[str, str] = {
    "projects": "/api/projects",
    "suppliers": "/api/suppliers",
    "instances": "/api/task-instances",
    "assignments": ASSIGN_A,
    "templates": TEMPLATES_A,
    "history": INSTANCE_A + "/history",
    "tokens": "/api/tokens",
}
SORTED_LISTS = ("projects", "suppliers", "instances", "templates")
ID_ROUTES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "get project": ("GET", "/api/projects/{id}", None),
    "patch project": ("PATCH", "/api/projects/{id}", {"name": "x"}),
    "put project": ("PUT", "/api/projects/{id}", PROJECT),
    "delete project": ("DELETE", "/api/projects/{id}", None),
    "list assignments": ("GET", "/api/projects/{id}/suppliers", None),
    "assign": ("POST", "/api/projects/{id}/suppliers", {"supplierId": Ref("supplier_c")}),
    "remove assignment": ("DELETE", "/api/projects/{project_a}/suppliers/{id}", None),
    "remove assignment (project)": ("DELETE", "/api/projects/{id}/suppliers/{supplier_a}", None),
    "get supplier": ("GET", "/api/suppliers/{id}", None),
    "patch supplier": ("PATCH", "/api/suppliers/{id}", {"name": "x"}),
    "put supplier": ("PUT", "/api/suppliers/{id}", SUPPLIER),
    "delete supplier": ("DELETE", "/api/suppliers/{id}", None),
    "list templates": ("GET", "/api/projects/{id}/task-templates", None),
    "create template": ("POST", "/api/projects/{id}/task-templates", TEMPLATE),
    "get template": ("GET", "/api/task-templates/{id}", None),
    "patch template": ("PATCH", "/api/task-templates/{id}", {"name": "x"}),
    "delete template": ("DELETE", "/api/task-templates/{id}", None),
    "get instance": ("GET", "/api/task-instances/{id}", None),
    "patch instance": ("PATCH", "/api/task-instances/{id}", {"notes": "x"}),
    "delete instance": ("DELETE", "/api/task-instances/{id}", None),
    "history": ("GET", "/api/task-instances/{id}/history", None),
    "revoke token": ("DELETE", "/api/tokens/{id}", None),
    "get calendar": ("GET", "/api/projects/{id}/calendar", None),
    "replace calendar": ("PUT", "/api/projects/{id}/calendar", {"workingWeekdays": ["MON"]}),
    "preview dates": ("GET", "/api/projects/{id}/bulk-update-dates?shiftDays=1", None),
    "apply dates": ("POST", "/api/projects/{id}/bulk-update-dates", SHIFT),
    "get bulk operation": ("GET", "/api/bulk-operations/{id}", None),
    "undo bulk operation": ("POST", "/api/bulk-operations/{id}/undo", {"reason": "x"}),
    "get job": ("GET", "/api/jobs/{id}", None),
    "cancel job": ("DELETE", "/api/jobs/{id}", None),
}


def with_(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}
