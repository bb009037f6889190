"""Every route that changes data leaves its trail in the same transaction (issue 13, item 1).

Each mutating route is called once as an admin on an object it may change, and the rows the
request wrote are found by its request id: audit_log rows of the kinds the route changes (or,
for an instance's own fields, its history), each naming the caller, a source, and the values
before and after. A new mutating route fails ``test_every_mutating_route_has_a_trail_case``
until a case says what it must write. The table is written by hand from the issue, not from the
code under test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditLog, TaskInstanceHistory
from supplytrack.core.time import today
from supplytrack.jobs.models import Job
from tests.contract.scope_table import TABLE
from tests.contract.support import Shared, World
from tests.fixtures.auth import Caller

HISTORY = "HISTORY"  # the route changes an instance's own fields: its history rows
# Routes that change no recorded data, and why.
UNRECORDED = {
    (
        "POST",
        "/api/data-checks",
    ): "queues a run of read-only checks (a job row; it changes no data)",
}

Prepare = Callable[[Shared], dict[str, int]]
Body = Callable[[World, dict[str, int]], dict[str, Any] | None]


@dataclass(frozen=True)
class Case:
    """What one call of a route must write; ``prepare`` makes what it acts on (path ids)."""

    writes: frozenset[str]
    path: dict[str, str] = field(default_factory=dict)  # path id -> World attribute
    body: Body | None = None
    prepare: Prepare | None = None


def _due(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def _post(shared: Shared, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = shared.client.post(path, json=body, headers=shared.admin.headers)
    assert answer.status_code in (200, 201), answer.text
    made: dict[str, Any] = answer.json()
    return made


def _fresh_project(shared: Shared) -> dict[str, int]:
    """A project with a milestone and a calendar of its own and no work: deletable."""
    project = _post(shared, "/api/projects", {"code": "TRAIL-DEL", "name": "To delete"})["id"]
    _post(
        shared,
        f"/api/projects/{project}/task-templates",
        {"name": "Only milestone", "canonicalDue": _due(30)},
    )
    answer = shared.client.put(
        f"/api/projects/{project}/calendar",
        json={"workingWeekdays": ["MON", "TUE", "WED", "THU"], "reason": "trail"},
        headers=shared.admin.headers,
    )
    assert answer.status_code == 200, answer.text
    return {"project_id": project}


def _fresh_supplier(shared: Shared) -> dict[str, int]:
    made = _post(shared, "/api/suppliers", {"code": "TRAIL-S", "name": "To delete"})
    return {"supplier_id": made["id"]}


def _fresh_template(shared: Shared) -> dict[str, int]:
    made = _post(
        shared,
        f"/api/projects/{shared.world.project_a}/task-templates",
        {"name": "Trail milestone", "canonicalDue": _due(50)},
    )
    return {"template_id": made["id"]}


def _fresh_token(shared: Shared) -> dict[str, int]:
    return {"token_id": _post(shared, "/api/tokens", {"name": "trail", "role": "viewer"})["id"]}


def _applied_operation(shared: Shared) -> dict[str, int]:
    made = _post(
        shared,
        "/api/task-instances/bulk-status-update",
        {"ids": [shared.world.instance_b_shared], "status": "IN_PROGRESS"},
    )
    return {"operation_id": made["bulkOperationId"]}


def _queued_job(shared: Shared) -> dict[str, int]:
    job = Job(kind="contract")
    shared.session.add(job)
    shared.session.flush()
    return {"job_id": job.id}


def _kinds(*names: str) -> frozenset[str]:
    return frozenset(names)


OWN_PROJECT = {"project_id": "project_a"}
CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/projects"): Case(
        _kinds("PROJECT"), body=lambda _w, _p: {"code": "TRAIL-P", "name": "Trail program"}
    ),
    ("PATCH", "/api/projects/{project_id}"): Case(
        _kinds("PROJECT"), OWN_PROJECT, lambda _w, _p: {"name": "Renamed for the trail"}
    ),
    ("PUT", "/api/projects/{project_id}"): Case(
        _kinds("PROJECT"),
        OWN_PROJECT,
        lambda _w, _p: {"code": "TRAIL-PUT", "name": "Replaced", "status": "ACTIVE"},
    ),
    ("DELETE", "/api/projects/{project_id}"): Case(
        _kinds("PROJECT", "TEMPLATE", "CALENDAR"), prepare=_fresh_project
    ),
    ("POST", "/api/projects/{project_id}/suppliers"): Case(
        _kinds("ASSIGNMENT"), OWN_PROJECT, lambda w, _p: {"supplierId": w.supplier_c}
    ),
    ("DELETE", "/api/projects/{project_id}/suppliers/{supplier_id}"): Case(
        _kinds("ASSIGNMENT"), {"project_id": "project_a", "supplier_id": "supplier_a"}
    ),
    ("POST", "/api/suppliers"): Case(
        _kinds("SUPPLIER"),
        body=lambda _w, _p: {"code": "TRAIL-S2", "name": "Trail", "capabilities": ["welding"]},
    ),
    ("PATCH", "/api/suppliers/{supplier_id}"): Case(
        _kinds("SUPPLIER"), {"supplier_id": "supplier_a"}, lambda _w, _p: {"name": "Renamed"}
    ),
    ("PUT", "/api/suppliers/{supplier_id}"): Case(
        _kinds("SUPPLIER"),
        {"supplier_id": "supplier_a"},
        lambda _w, _p: {"code": "TRAIL-SPUT", "name": "Replaced", "capabilities": ["machining"]},
    ),
    ("DELETE", "/api/suppliers/{supplier_id}"): Case(_kinds("SUPPLIER"), prepare=_fresh_supplier),
    ("POST", "/api/projects/{project_id}/task-templates"): Case(
        _kinds("TEMPLATE"),
        OWN_PROJECT,
        lambda _w, _p: {"name": "Trail milestone", "canonicalDue": _due(45)},
    ),
    ("PATCH", "/api/task-templates/{template_id}"): Case(
        _kinds("TEMPLATE"), {"template_id": "template_a"}, lambda _w, _p: {"description": "x"}
    ),
    ("DELETE", "/api/task-templates/{template_id}"): Case(
        _kinds("TEMPLATE"), prepare=_fresh_template
    ),
    ("PUT", "/api/projects/{project_id}/calendar"): Case(
        _kinds("CALENDAR"),
        OWN_PROJECT,
        lambda _w, _p: {"workingWeekdays": ["MON", "TUE"], "reason": "trail"},
    ),
    ("POST", "/api/task-instances"): Case(
        _kinds("INSTANCE"),
        body=lambda w, _p: {
            "supplierProjectId": w.assignment_a,
            "taskTemplateId": w.template_a_extra,
        },
    ),
    ("PATCH", "/api/task-instances/{instance_id}"): Case(
        _kinds(HISTORY), {"instance_id": "instance_a"}, lambda _w, _p: {"status": "IN_PROGRESS"}
    ),
    ("DELETE", "/api/task-instances/{instance_id}"): Case(
        _kinds("INSTANCE"), {"instance_id": "instance_a_shared"}
    ),
    ("POST", "/api/task-instances/bulk-status-update"): Case(
        _kinds("OPERATION", HISTORY),
        body=lambda w, _p: {"ids": [w.instance_a, w.instance_b], "status": "IN_PROGRESS"},
    ),
    ("POST", "/api/projects/{project_id}/bulk-update-dates"): Case(
        _kinds("OPERATION", HISTORY),
        OWN_PROJECT,
        lambda _w, _p: {"shiftDays": 1, "reasonCode": "PLAN_CHANGE", "reason": "trail"},
    ),
    ("POST", "/api/bulk-operations/{operation_id}/undo"): Case(
        _kinds("OPERATION", HISTORY),
        body=lambda _w, _p: {"reason": "trail"},
        prepare=_applied_operation,
    ),
    ("DELETE", "/api/jobs/{job_id}"): Case(_kinds("JOB"), prepare=_queued_job),
    ("POST", "/api/tokens"): Case(
        _kinds("TOKEN"), body=lambda _w, _p: {"name": "trail", "role": "viewer"}
    ),
    ("POST", "/api/tokens/{token_id}/rotate"): Case(_kinds("TOKEN"), prepare=_fresh_token),
    ("DELETE", "/api/tokens/{token_id}"): Case(_kinds("TOKEN"), prepare=_fresh_token),
}


def test_every_mutating_route_has_a_trail_case(shared: Shared) -> None:
    """A route that changes data without a case here is a route nobody checked the trail of."""
    mutating = {key for key in TABLE if key[0] in {"POST", "PUT", "PATCH", "DELETE"}}
    documented = {
        (method.upper(), path)
        for path, operations in shared.app.openapi()["paths"].items()
        for method in operations
        if method != "get"
    }
    assert documented <= mutating, documented - mutating
    assert mutating - set(CASES) - set(UNRECORDED) == set(), "mutating routes without a case"
    assert set(CASES) - mutating == set(), "cases for routes the app does not serve"


def _call(shared: Shared, key: tuple[str, str], case: Case, caller: Caller) -> Any:
    world = shared.world
    ids = {name: getattr(world, attribute) for name, attribute in case.path.items()}
    if case.prepare is not None:
        ids.update(case.prepare(shared))
    method, template = key
    body = case.body(world, ids) if case.body else None
    return shared.client.request(method, template.format(**ids), json=body, headers=caller.headers)


@pytest.mark.parametrize("key", sorted(CASES), ids=" ".join)
def test_each_mutating_route_writes_its_trail_in_its_transaction(
    shared: Shared, client: TestClient, session: Session, admin: Caller, key: tuple[str, str]
) -> None:
    case = CASES[key]
    answer = _call(shared, key, case, admin)
    assert answer.status_code < 300, f"{key}: {answer.status_code} {answer.text[:300]}"
    request_id = answer.headers["X-Request-ID"]
    logged = session.scalars(select(AuditLog).where(AuditLog.request_id == request_id)).all()
    history = session.scalars(
        select(TaskInstanceHistory).where(TaskInstanceHistory.request_id == request_id)
    ).all()
    found = {row.entity.value for row in logged} | ({HISTORY} if history else set())
    assert case.writes <= found, f"{key} wrote {sorted(found)}, wanted {sorted(case.writes)}"
    for row in logged:
        assert row.actor_id == admin.token_id, (key, row.field)
        assert row.actor.startswith("admin:"), (key, row.actor)
        assert row.source is not None
        assert (row.old_value, row.new_value) != (None, None), (key, row.field)
        assert row.changed_at is not None
    for row in history:
        assert row.actor_id == admin.token_id, key
        assert row.old_value != row.new_value, (key, row.field)


def test_a_create_and_a_delete_carry_the_whole_object(
    shared: Shared, client: TestClient, session: Session, admin: Caller
) -> None:
    made = client.post(
        "/api/suppliers",
        json={"code": "TRAIL-W", "name": "Whole", "capabilities": ["welding", "casting"]},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    supplier = made.json()["id"]
    gone = client.delete(f"/api/suppliers/{supplier}", headers=admin.headers)
    assert gone.status_code == 204, gone.text
    rows = session.scalars(
        select(AuditLog).where(AuditLog.entity_id == supplier, AuditLog.entity == "SUPPLIER")
    ).all()
    assert [row.field for row in rows] == ["created", "deleted"]
    created, deleted = (json.loads(rows[0].new_value or ""), json.loads(rows[1].old_value or ""))
    assert created == deleted
    assert created["code"] == "TRAIL-W"
    assert created["capabilities"] == ["casting", "welding"]
    assert rows[0].request_id == made.headers["X-Request-ID"]
    assert rows[1].request_id == gone.headers["X-Request-ID"]


def test_a_token_row_never_holds_the_secret(
    shared: Shared, client: TestClient, session: Session, admin: Caller
) -> None:
    made = client.post(
        "/api/tokens", json={"name": "secret", "role": "viewer"}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    raw = made.json()["token"]
    row = session.scalars(
        select(AuditLog).where(AuditLog.request_id == made.headers["X-Request-ID"])
    ).one()
    assert raw not in (row.new_value or "")
    assert "digest" not in json.loads(row.new_value or "{}")


def test_a_refused_change_writes_no_trail(
    shared: Shared, client: TestClient, session: Session, admin: Caller
) -> None:
    refused = client.patch(
        f"/api/projects/{shared.world.project_a}",
        json={"startDate": _due(100), "sopDate": _due(10)},
        headers=admin.headers,
    )
    assert refused.status_code == 422, refused.text
    rows = session.scalars(
        select(AuditLog).where(AuditLog.request_id == refused.headers["X-Request-ID"])
    ).all()
    assert rows == []
