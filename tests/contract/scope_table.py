"""The expectation table of test_scope.py: every route, who may call it, on which objects.

Written by hand from SPEC.md sections 3 and 4, not derived from the code under test.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from supplytrack.core.time import today
from supplytrack.jobs.models import Job
from tests.contract.support import MISSING_ID, Shared, World


class Access(enum.Enum):
    """Who may call a route (SPEC section 4)."""

    PUBLIC = "no token needed"
    OPERATIONS = "this host, or the METRICS_TOKEN (tests/core/test_metrics.py)"
    READ = "every role; a supplier only its own objects"
    STAFF_READ = "admin, manager and viewer (nothing a supplier may see)"
    STAFF_WRITE = "admin and manager"
    TASK_WRITE = "admin, manager, and a supplier on its own instances"
    ADMIN = "admin only"
    AUDIT_READ = "admin and viewer (the audit log)"


Body = Callable[[World, str, int], dict[str, Any] | None]
# Makes the object an "own" target names when the data set has none (a bulk operation, a job);
# returns its path ids.
Prepare = Callable[[Shared], dict[str, int]]

COLLECTION = ("collection",)
BY_ID = ("missing", "other", "own")
BY_ID_SHARED = ("missing", "other", "other_shared", "own")
EXISTING = ("missing", "own")  # objects of no supplier in particular (operations, jobs)
OTHER_TARGETS = frozenset({"other", "other_shared"})
ROLES = ("admin", "manager", "viewer", "supplier")


@dataclass(frozen=True)
class Entry:
    """What a route promises: who may call it, on which targets, what success looks like."""

    access: Access
    targets: tuple[str, ...] = COLLECTION
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200}))
    body: Body | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prepare: Prepare | None = None


def _due(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def _new_project(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"code": f"CT-P-{n}", "name": f"Contract program {n}"}


def _replace_project(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"code": f"CT-PUT-{n}", "name": f"Replaced program {n}", "status": "ACTIVE"}


def _rename(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"name": f"Renamed {n}"}


def _new_supplier(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"code": f"CT-S-{n}", "name": f"Contract supplier {n}"}


def _replace_supplier(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"code": f"CT-SPUT-{n}", "name": f"Replaced supplier {n}", "capabilities": ["machining"]}


def _assign_c(w: World, _t: str, _n: int) -> dict[str, Any]:
    return {"supplierId": w.supplier_c}


def _new_template(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"name": f"Contract milestone {n}", "canonicalDue": _due(40)}


def _describe(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"description": f"changed {n}"}


def _new_instance(w: World, target: str, _n: int) -> dict[str, Any]:
    if target == "own":
        return {"supplierProjectId": w.assignment_a, "taskTemplateId": w.template_a_extra}
    if target == "other":
        return {"supplierProjectId": w.assignment_b, "taskTemplateId": w.template_b_extra}
    return {"supplierProjectId": MISSING_ID, "taskTemplateId": MISSING_ID}


def _start(_w: World, _t: str, _n: int) -> dict[str, Any]:
    return {"status": "IN_PROGRESS"}


def _new_token(_w: World, _t: str, n: int) -> dict[str, Any]:
    return {"name": f"contract {n}", "role": "viewer"}


def _calendar(_w: World, _t: str, _n: int) -> dict[str, Any]:
    return {"workingWeekdays": ["MON", "TUE", "WED", "THU", "FRI"], "reason": "contract"}


def _bulk_start(w: World, _t: str, _n: int) -> dict[str, Any]:
    return {"ids": [w.instance_a, w.instance_b], "status": "IN_PROGRESS"}


def _shift(_w: World, _t: str, _n: int) -> dict[str, Any]:
    return {"shiftDays": 1, "reasonCode": "PLAN_CHANGE", "reason": "contract"}


def _undo(_w: World, _t: str, _n: int) -> dict[str, Any]:
    return {"reason": "contract"}


def _bulk_operation(shared: Shared) -> dict[str, int]:
    """A bulk operation made over the API (a manager starting B's shared instance)."""
    response = shared.client.post(
        "/api/task-instances/bulk-status-update",
        json={"ids": [shared.world.instance_b_shared], "status": "IN_PROGRESS"},
        headers=shared.manager.headers,
    )
    assert response.status_code == 200, response.text
    return {"operation_id": response.json()["bulkOperationId"]}


def _job(shared: Shared) -> dict[str, int]:
    """A queued job row (big bulk changes make them; the data set is small)."""
    job = Job(kind="contract")
    shared.session.add(job)
    shared.session.flush()
    return {"job_id": job.id}


def _data_check_run(shared: Shared) -> dict[str, int]:
    """A data-check run (a job of its own kind), as POST /api/data-checks queues one."""
    job = Job(kind="DATA_CHECKS", payload={"checks": [], "source": "API"})
    shared.session.add(job)
    shared.session.flush()
    return {"job_id": job.id}


def _ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


# The contract, route by route (SPEC sections 3 and 4). Deletes answer 409 when the object has
# history (SPEC section 2: archive instead), which the data set makes happen on purpose.
TABLE: dict[tuple[str, str], Entry] = {
    ("GET", "/openapi.json"): Entry(Access.PUBLIC),
    ("GET", "/docs"): Entry(Access.PUBLIC),
    ("GET", "/docs/init.js"): Entry(Access.PUBLIC),
    ("*", "/static/swagger"): Entry(Access.PUBLIC),
    ("*", "/static/web"): Entry(Access.PUBLIC),
    ("GET", "/healthz"): Entry(Access.PUBLIC),
    ("GET", "/readyz"): Entry(Access.PUBLIC),
    ("GET", "/metrics"): Entry(Access.OPERATIONS),
    ("GET", "/api/projects"): Entry(Access.READ),
    ("POST", "/api/projects"): Entry(Access.STAFF_WRITE, ok=_ok(201), body=_new_project),
    ("GET", "/api/projects/{project_id}"): Entry(Access.READ, BY_ID),
    ("PATCH", "/api/projects/{project_id}"): Entry(Access.STAFF_WRITE, BY_ID, body=_rename),
    ("PUT", "/api/projects/{project_id}"): Entry(Access.STAFF_WRITE, BY_ID, body=_replace_project),
    ("DELETE", "/api/projects/{project_id}"): Entry(Access.STAFF_WRITE, BY_ID, _ok(204, 409)),
    ("GET", "/api/projects/{project_id}/suppliers"): Entry(Access.READ, BY_ID),
    ("POST", "/api/projects/{project_id}/suppliers"): Entry(
        Access.STAFF_WRITE, BY_ID, _ok(201), _assign_c
    ),
    ("DELETE", "/api/projects/{project_id}/suppliers/{supplier_id}"): Entry(
        Access.STAFF_WRITE, BY_ID_SHARED
    ),
    ("GET", "/api/suppliers"): Entry(Access.READ),
    ("POST", "/api/suppliers"): Entry(Access.STAFF_WRITE, ok=_ok(201), body=_new_supplier),
    ("GET", "/api/suppliers/{supplier_id}"): Entry(Access.READ, BY_ID),
    ("PATCH", "/api/suppliers/{supplier_id}"): Entry(Access.STAFF_WRITE, BY_ID, body=_rename),
    ("PUT", "/api/suppliers/{supplier_id}"): Entry(
        Access.STAFF_WRITE, BY_ID, body=_replace_supplier
    ),
    ("DELETE", "/api/suppliers/{supplier_id}"): Entry(Access.STAFF_WRITE, BY_ID, _ok(204, 409)),
    ("GET", "/api/projects/{project_id}/task-templates"): Entry(Access.READ, BY_ID),
    ("POST", "/api/projects/{project_id}/task-templates"): Entry(
        Access.STAFF_WRITE, BY_ID, _ok(201), _new_template
    ),
    ("GET", "/api/task-templates/{template_id}"): Entry(Access.READ, BY_ID),
    ("PATCH", "/api/task-templates/{template_id}"): Entry(
        Access.STAFF_WRITE, BY_ID, body=_describe
    ),
    ("DELETE", "/api/task-templates/{template_id}"): Entry(
        Access.STAFF_WRITE, BY_ID, _ok(204, 409)
    ),
    ("GET", "/api/task-instances"): Entry(Access.READ),
    ("POST", "/api/task-instances"): Entry(Access.STAFF_WRITE, BY_ID, _ok(201), _new_instance),
    ("GET", "/api/task-instances/{instance_id}"): Entry(Access.READ, BY_ID_SHARED),
    ("PATCH", "/api/task-instances/{instance_id}"): Entry(
        Access.TASK_WRITE, BY_ID_SHARED, body=_start
    ),
    ("DELETE", "/api/task-instances/{instance_id}"): Entry(
        Access.STAFF_WRITE, BY_ID_SHARED, _ok(204, 409)
    ),
    ("GET", "/api/task-instances/{instance_id}/history"): Entry(Access.READ, BY_ID_SHARED),
    ("GET", "/api/projects/{project_id}/calendar"): Entry(Access.READ, BY_ID),
    ("PUT", "/api/projects/{project_id}/calendar"): Entry(
        Access.STAFF_WRITE, BY_ID, body=_calendar
    ),
    # Bulk operations, their previews and jobs are the manager's (SPEC section 4); reading an
    # operation or a job spans suppliers, so it is staff-only.
    ("POST", "/api/task-instances/bulk-status-update"): Entry(
        Access.STAFF_WRITE, ok=_ok(200, 202), body=_bulk_start
    ),
    ("GET", "/api/projects/{project_id}/bulk-update-dates"): Entry(
        Access.STAFF_WRITE, BY_ID, params={"shiftDays": 1}
    ),
    ("POST", "/api/projects/{project_id}/bulk-update-dates"): Entry(
        Access.STAFF_WRITE, BY_ID, _ok(200, 202), _shift
    ),
    ("GET", "/api/bulk-operations/{operation_id}"): Entry(
        Access.STAFF_READ, EXISTING, prepare=_bulk_operation
    ),
    ("POST", "/api/bulk-operations/{operation_id}/undo"): Entry(
        Access.STAFF_WRITE, EXISTING, _ok(200, 409), _undo, prepare=_bulk_operation
    ),
    ("GET", "/api/jobs/{job_id}"): Entry(Access.STAFF_READ, EXISTING, prepare=_job),
    ("DELETE", "/api/jobs/{job_id}"): Entry(
        Access.STAFF_WRITE, EXISTING, _ok(200, 409), prepare=_job
    ),
    # Reports: every role; a supplier's are computed from its own rows only.
    ("GET", "/api/reports/supplier-performance"): Entry(Access.READ),
    ("GET", "/api/reports/project-status"): Entry(Access.READ),
    ("GET", "/api/reports/task-instances"): Entry(Access.READ),
    # Compliance reports: every role; a supplier's narrowed to its own supplier (another
    # supplier's supplierId is a 404, tests/reports/test_compliance.py), its access log too.
    ("GET", "/api/reports/compliance/changes"): Entry(Access.READ),
    ("GET", "/api/reports/compliance/due-date-changes"): Entry(Access.READ),
    ("GET", "/api/reports/compliance/approvals"): Entry(Access.READ),
    ("GET", "/api/reports/compliance/approved-with-open-prerequisites"): Entry(Access.READ),
    ("GET", "/api/reports/compliance/supplier-access"): Entry(Access.READ),
    ("GET", "/api/reports/compliance/overdue-aging"): Entry(Access.READ),
    # Data checks read across every supplier: admins only.
    ("POST", "/api/data-checks"): Entry(Access.ADMIN, ok=_ok(202)),
    ("GET", "/api/data-checks/latest"): Entry(Access.ADMIN, ok=_ok(200, 404)),
    ("GET", "/api/data-checks/{job_id}"): Entry(Access.ADMIN, EXISTING, prepare=_data_check_run),
    ("GET", "/api/access-log"): Entry(Access.ADMIN),
    ("GET", "/api/audit-log"): Entry(Access.AUDIT_READ),
    # The regulatory bundle (the contract app has no AUDIT_SIGNING_KEY: 409 before the scope).
    ("GET", "/api/exports/bundle"): Entry(
        Access.ADMIN, ok=_ok(404, 409), params={"projectId": MISSING_ID}
    ),
    ("GET", "/api/tokens"): Entry(Access.ADMIN),
    ("POST", "/api/tokens"): Entry(Access.ADMIN, ok=_ok(201), body=_new_token),
    ("POST", "/api/tokens/{token_id}/rotate"): Entry(Access.ADMIN, BY_ID, _ok(201, 409)),
    ("DELETE", "/api/tokens/{token_id}"): Entry(Access.ADMIN, BY_ID),
}


# Which roles may call a route of each kind at all (SPEC section 4); the others get 403.
ALLOWED_ROLES: dict[Access, frozenset[str]] = {
    Access.READ: frozenset(ROLES),
    Access.STAFF_READ: frozenset({"admin", "manager", "viewer"}),
    Access.STAFF_WRITE: frozenset({"admin", "manager"}),
    Access.TASK_WRITE: frozenset({"admin", "manager", "supplier"}),
    Access.ADMIN: frozenset({"admin"}),
    Access.AUDIT_READ: frozenset({"admin", "viewer"}),
}


def expected_statuses(entry: Entry, role: str, target: str) -> frozenset[int]:
    """What SPEC promises for this route, role and target."""
    if entry.access is Access.PUBLIC:
        return _ok(200)
    if role not in ALLOWED_ROLES[entry.access]:
        return _ok(403)  # the role is checked before the lookup: 403 even when missing
    if target == "missing" or (role == "supplier" and target in OTHER_TARGETS):
        return _ok(404)  # another supplier's object is exactly a missing one
    return entry.ok


ID_NAMES = (
    "project_id",
    "supplier_id",
    "template_id",
    "instance_id",
    "token_id",
    "operation_id",
    "job_id",
)


def target_ids(world: World, target: str) -> dict[str, int]:
    """The path ids of a target."""
    if target == "own":
        return {
            "project_id": world.project_a,
            "supplier_id": world.supplier_a,
            "template_id": world.template_a,
            "instance_id": world.instance_a,
            "token_id": world.token_a,
            "operation_id": MISSING_ID,
            "job_id": MISSING_ID,
        }
    if target == "other":
        return {
            "project_id": world.project_b,
            "supplier_id": world.supplier_b,
            "template_id": world.template_b,
            "instance_id": world.instance_b,
            "token_id": world.token_b,
            "operation_id": MISSING_ID,
            "job_id": MISSING_ID,
        }
    if target == "other_shared":
        return {
            "project_id": world.project_shared,
            "supplier_id": world.supplier_b,
            "template_id": world.template_shared,
            "instance_id": world.instance_b_shared,
            "token_id": world.token_b,
            "operation_id": MISSING_ID,
            "job_id": MISSING_ID,
        }
    assert target in ("missing", "collection"), target
    return dict.fromkeys(ID_NAMES, MISSING_ID)
