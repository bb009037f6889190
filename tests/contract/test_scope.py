"""Every route x role x own/other/missing object answers what SPEC section 4 promises.

The expectation table (scope_table.py) is written by hand from SPEC.md, not derived from the
code under test: a route the application serves without an entry there (or an entry the
application no longer serves) fails ``test_expectation_table_covers_every_route``.

Roles: admin, manager, viewer, and a supplier token bound to supplier A. Targets:

- ``own``: an object the role may see (for supplier A: A's supplier, project PA, A's
  assignment, template and instance, which has history);
- ``other``: supplier B's objects (B, project PB, B's assignment, template and instance);
- ``other_shared``: B's objects on the project A and B share (B's assignment and instance on
  PS): the project is visible to A, B's rows on it are not;
- ``missing``: an id nothing has;
- ``collection``: routes without an id.

The data set is built once for the module and each test runs in a savepoint rolled back after
it; within a test, calls run missing first and own last, so that a write on one target cannot
hide another. Then: 401 for every bad token everywhere, supplier lists and reports that never
show B's rows (even filtered by B's ids), and a supplier's own transitions.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from supplytrack.auth.service import TokenService
from supplytrack.core.identity import Role
from supplytrack.core.time import today
from supplytrack.tasks.models import TaskInstance
from tests.contract.scope_table import (
    COLLECTION,
    OTHER_TARGETS,
    ROLES,
    TABLE,
    Access,
    Entry,
    expected_statuses,
    target_ids,
)
from tests.contract.support import MISSING_ID, Shared, World, app_routes, assert_envelope
from tests.fixtures.auth import Caller, make_caller

# The data set is built once for the module; each test runs in a savepoint rolled back after
# it, so the writes of one test (a DELETE, a PATCH) are gone before the next.


@pytest.fixture
def callers(shared: Shared) -> dict[str, Caller]:
    """A token per role (the supplier one bound to supplier A)."""
    return {
        "admin": shared.admin,
        "manager": shared.manager,
        "viewer": shared.viewer,
        "supplier": shared.supplier_a,
    }


def test_expectation_table_covers_every_route(shared: Shared) -> None:
    """A route without an entry (or an entry without a route) is a contract nobody wrote."""
    app = shared.app
    served = app_routes(app)
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= served, documented - served
    assert served - set(TABLE) == set(), "routes without an entry in TABLE"
    assert set(TABLE) - served == set(), "TABLE entries for routes the app does not serve"


def _call(
    client: TestClient,
    key: tuple[str, str],
    entry: Entry,
    world: World,
    target: str,
    headers: Mapping[str, str],
    n: int,
    prepared: Mapping[str, int] | None = None,
) -> httpx.Response:
    method, template = key
    ids = target_ids(world, target)
    if target == "own" and prepared:
        ids.update(prepared)
    path = template.format(**ids)
    body = entry.body(world, target, n) if entry.body else None
    response: httpx.Response = client.request(
        method, path, json=body, params=entry.params, headers=dict(headers)
    )
    return response


def _check(response: httpx.Response, wanted: frozenset[int], what: str) -> None:
    assert response.status_code in wanted, f"{what}: {response.status_code} {response.text[:400]}"
    assert response.headers.get("x-request-id"), what
    if response.status_code >= 400:
        code = {403: "FORBIDDEN", 404: "NOT_FOUND"}.get(response.status_code)
        error = assert_envelope(response)
        if code == "NOT_FOUND":
            assert error["code"] == code, (what, error)
        elif code == "FORBIDDEN":
            assert error["code"] in ("FORBIDDEN", "TRANSITION_FORBIDDEN", "FIELD_FORBIDDEN"), what


def _same_not_found(other: httpx.Response, missing: httpx.Response, what: str) -> None:
    """Another supplier's object must be indistinguishable from a missing one."""
    assert other.status_code == missing.status_code == 404, what

    def normal(response: httpx.Response) -> dict[str, Any]:
        error = dict(response.json()["error"])
        error.pop("requestId")
        error["message"] = re.sub(r"\d+", "<id>", error["message"])
        return error

    assert normal(other) == normal(missing), what
    ignored = {"x-request-id", "content-length", "date"}
    assert {k for k in other.headers if k not in ignored} == {
        k for k in missing.headers if k not in ignored
    }, what
    assert set(other.json()) == set(missing.json()) == {"error"}, what


CASES = [
    pytest.param(key, role, id=f"{key[0]} {key[1]} as {role}")
    for key, entry in TABLE.items()
    if entry.access not in {Access.PUBLIC, Access.OPERATIONS}
    for role in ROLES
]


@pytest.mark.parametrize(("key", "role"), CASES)
def test_route_answers_role_and_scope(
    shared: Shared,
    client: TestClient,
    world: World,
    callers: dict[str, Caller],
    key: tuple[str, str],
    role: str,
) -> None:
    """Each target of the route gives the status SPEC promises to this role."""
    entry = TABLE[key]
    caller = callers[role]
    prepared = entry.prepare(shared) if entry.prepare else None
    answers: dict[str, httpx.Response] = {}
    for n, target in enumerate(entry.targets):
        response = _call(client, key, entry, world, target, caller.headers, n, prepared)
        _check(response, expected_statuses(entry, role, target), f"{key} {role} {target}")
        answers[target] = response
    if role == "supplier" and "missing" in answers:
        for target in OTHER_TARGETS & set(answers):
            if answers[target].status_code == 404:
                _same_not_found(answers[target], answers["missing"], f"{key} {target}")


@pytest.mark.parametrize(
    "key", [key for key, entry in TABLE.items() if entry.access is Access.PUBLIC]
)
def test_public_routes_need_no_token(client: TestClient, key: tuple[str, str]) -> None:
    """Health, readiness, metrics and the docs answer without a token."""
    method, path = key
    if method == "*":  # a mount of static files: one of its files
        asset = "app.css" if path == "/static/web" else "swagger-ui.css"
        method, path = "GET", f"{path}/{asset}"
    response = client.request(method, path)
    assert response.status_code == 200, response.text[:300]
    assert response.headers.get("x-request-id")


@pytest.fixture
def revoked(session: Session) -> Caller:
    """An admin token that was revoked."""
    caller = make_caller(session, Role.ADMIN)
    TokenService(session).revoke(caller.token_id)
    session.flush()
    return caller


def _bad_authorizations(admin: Caller, revoked: Caller) -> dict[str, dict[str, str]]:
    return {
        "no header": {},
        "empty bearer": {"Authorization": "Bearer "},
        "unknown token": {"Authorization": "Bearer st_" + "x" * 43},
        "garbage": {"Authorization": "Bearer ' OR 1=1 --"},
        "too long": {"Authorization": "Bearer " + "a" * 5000},
        "revoked": revoked.headers,
        "basic scheme": {"Authorization": f"Basic {admin.token}"},
        "token without scheme": {"Authorization": admin.token},
    }


@pytest.mark.parametrize(
    "key",
    [key for key, entry in TABLE.items() if entry.access not in {Access.PUBLIC, Access.OPERATIONS}],
)
def test_no_or_bad_token_is_401_everywhere(
    client: TestClient, world: World, admin: Caller, revoked: Caller, key: tuple[str, str]
) -> None:
    """Under /api every route wants a live token, before anything else is looked at."""
    entry = TABLE[key]
    assert key[1].startswith("/api/")
    for label, headers in _bad_authorizations(admin, revoked).items():
        for target in ("own", "missing") if entry.targets != COLLECTION else COLLECTION:
            response = _call(client, key, entry, world, target, headers, 0)
            error = assert_envelope(response, 401, "UNAUTHORIZED")
            assert "bearer" in response.headers.get("www-authenticate", "").lower(), label
            assert error["details"] == [], label


# --- lists never leak another supplier's rows ----------------------------------------------

Query = Callable[[World], tuple[str, dict[str, Any], set[int]]]

LIST_QUERIES: dict[str, Query] = {
    "instances": lambda w: ("/api/task-instances", {}, {w.instance_a, w.instance_a_shared}),
    "instances of A": lambda w: (
        "/api/task-instances",
        {"supplierId": w.supplier_a},
        {w.instance_a, w.instance_a_shared},
    ),
    "instances of B": lambda w: ("/api/task-instances", {"supplierId": w.supplier_b}, set()),
    "instances of PB": lambda w: ("/api/task-instances", {"projectId": w.project_b}, set()),
    "instances of PS": lambda w: (
        "/api/task-instances",
        {"projectId": w.project_shared},
        {w.instance_a_shared},
    ),
    "instances of B on PS": lambda w: (
        "/api/task-instances",
        {"projectId": w.project_shared, "supplierId": w.supplier_b},
        set(),
    ),
    "instances of tb": lambda w: ("/api/task-instances", {"taskTemplateId": w.template_b}, set()),
    "instances of ts": lambda w: (
        "/api/task-instances",
        {"taskTemplateId": w.template_shared},
        {w.instance_a_shared},
    ),
    "instances of B's assignment": lambda w: (
        "/api/task-instances",
        {"supplierProjectId": w.assignment_b},
        set(),
    ),
    "instances of B's shared assignment": lambda w: (
        "/api/task-instances",
        {"supplierProjectId": w.assignment_b_shared},
        set(),
    ),
    "instances by status, sorted by due": lambda w: (
        "/api/task-instances",
        {"status": ["NOT_STARTED", "IN_PROGRESS"], "sort": "-actualDue"},
        {w.instance_a, w.instance_a_shared},
    ),
    "suppliers": lambda w: ("/api/suppliers", {}, {w.supplier_a}),
    "suppliers named like B": lambda w: ("/api/suppliers", {"q": w.supplier_b_code}, set()),
    "suppliers by capability": lambda w: (
        "/api/suppliers",
        {"capability": "machining", "sort": "name"},
        {w.supplier_a},
    ),
    "projects": lambda w: ("/api/projects", {}, {w.project_a, w.project_shared}),
    "projects named like PB": lambda w: ("/api/projects", {"q": w.project_b_code}, set()),
    "projects by code": lambda w: (
        "/api/projects",
        {"sort": "-code"},
        {w.project_a, w.project_shared},
    ),
    "assignments of PS": lambda w: (
        f"/api/projects/{w.project_shared}/suppliers",
        {},
        {w.assignment_a_shared},
    ),
    "assignments of PA": lambda w: (f"/api/projects/{w.project_a}/suppliers", {}, {w.assignment_a}),
    "templates of PS": lambda w: (
        f"/api/projects/{w.project_shared}/task-templates",
        {},
        {w.template_shared},
    ),
    "templates of PA": lambda w: (
        f"/api/projects/{w.project_a}/task-templates",
        {},
        {w.template_a, w.template_a_extra},
    ),
}


def walk_pages(
    client: TestClient, path: str, params: dict[str, Any], headers: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every item of a list, one row per page so that the cursors are exercised too."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query, headers=dict(headers))
        assert response.status_code == 200, response.text[:400]
        page = response.json()
        items.extend(page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            return items
    raise AssertionError(f"{path} never reached its last page")


@pytest.mark.parametrize("name", list(LIST_QUERIES))
def test_supplier_lists_hold_only_its_own_rows(
    client: TestClient, world: World, supplier_a: Caller, name: str
) -> None:
    """Even when filtering by B's ids explicitly, supplier A's lists never show B's rows."""
    path, params, wanted = LIST_QUERIES[name](world)
    items = walk_pages(client, path, params, supplier_a.headers)
    assert {item["id"] for item in items} == wanted
    for item in items:
        if "supplierId" in item:
            assert item["supplierId"] == world.supplier_a, item
        if "projectId" in item:
            assert item["projectId"] in (world.project_a, world.project_shared), item


def test_supplier_history_holds_only_its_instance(
    client: TestClient, world: World, supplier_a: Caller
) -> None:
    """The audit trail of A's instance is A's instance's only."""
    items = walk_pages(
        client, f"/api/task-instances/{world.instance_a}/history", {}, supplier_a.headers
    )
    assert items, "the data set gives A's instance a history row"
    assert {item["taskInstanceId"] for item in items} == {world.instance_a}


def test_staff_lists_do_show_both_suppliers(
    client: TestClient, world: World, viewer: Caller
) -> None:
    """The scope is the supplier's: staff see B's rows where supplier A sees none."""
    items = walk_pages(
        client, "/api/task-instances", {"projectId": world.project_shared}, viewer.headers
    )
    assert {item["id"] for item in items} == {world.instance_a_shared, world.instance_b_shared}
    suppliers = walk_pages(client, "/api/suppliers", {"q": world.supplier_b_code}, viewer.headers)
    assert [item["id"] for item in suppliers] == [world.supplier_b]


# --- a supplier moves only its own instances, and only along the supplier transitions -------


def test_supplier_moves_its_own_instance_along_supplier_transitions(
    client: TestClient, world: World, supplier_a: Caller
) -> None:
    """NOT_STARTED -> IN_PROGRESS -> SUBMITTED is the supplier's; approving is not."""
    path = f"/api/task-instances/{world.instance_a}"
    for status in ("IN_PROGRESS", "SUBMITTED"):
        response = client.patch(path, json={"status": status}, headers=supplier_a.headers)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert response.json()["supplierId"] == world.supplier_a
    refused = client.patch(path, json={"status": "APPROVED"}, headers=supplier_a.headers)
    assert refused.status_code in (403, 422), refused.text
    assert_envelope(refused)
    after = client.get(path, headers=supplier_a.headers)
    assert after.json()["status"] == "SUBMITTED"


def test_stale_if_match_on_another_suppliers_instance_is_still_404(
    client: TestClient, world: World, supplier_a: Caller
) -> None:
    """412 would tell that the instance exists: the lookup answers first, like a missing id."""
    headers = {**supplier_a.headers, "If-Match": '"999"'}
    body = {"status": "IN_PROGRESS"}
    other = client.patch(f"/api/task-instances/{world.instance_b}", json=body, headers=headers)
    missing = client.patch(f"/api/task-instances/{MISSING_ID}", json=body, headers=headers)
    _same_not_found(other, missing, "PATCH with If-Match")
    history = client.get(
        f"/api/task-instances/{world.instance_b}/history", headers=supplier_a.headers
    )
    _same_not_found(
        history,
        client.get(f"/api/task-instances/{MISSING_ID}/history", headers=supplier_a.headers),
        "history",
    )


# --- reports are computed from the supplier's own rows ----------------------------------------


@pytest.fixture
def b_overdue(session: Session, world: World) -> None:
    """Make B's instances overdue (straight in the database: the API refuses past dates)."""
    session.execute(
        update(TaskInstance)
        .where(TaskInstance.id.in_([world.instance_b, world.instance_b_shared]))
        .values(actual_due=today() - timedelta(days=3))
    )
    session.flush()


def test_supplier_project_status_counts_only_its_own_rows(
    client: TestClient, world: World, supplier_a: Caller, viewer: Caller, b_overdue: None
) -> None:
    """On the shared project, A's report knows nothing of B (staff's does)."""
    params = {"projectId": world.project_shared}
    staff = client.get("/api/reports/project-status", params=params, headers=viewer.headers)
    assert staff.status_code == 200, staff.text
    [everyone] = staff.json()["items"]
    assert everyone["activeSuppliers"] == 2
    assert [row["supplierId"] for row in everyone["suppliersAtRisk"]] == [world.supplier_b]
    mine = client.get("/api/reports/project-status", params=params, headers=supplier_a.headers)
    assert mine.status_code == 200, mine.text
    [own] = mine.json()["items"]
    assert (own["activeSuppliers"], own["instances"], own["overdue"]) == (1, 1, 0)
    assert own["suppliersAtRisk"] == []
    projects = client.get("/api/reports/project-status", headers=supplier_a.headers).json()
    assert {item["projectId"] for item in projects["items"]} == {
        world.project_a,
        world.project_shared,
    }


def test_supplier_report_of_another_suppliers_project_is_404_like_missing(
    client: TestClient, world: World, supplier_a: Caller
) -> None:
    """projectId of B's project answers exactly what a missing project answers."""
    path = "/api/reports/project-status"
    other = client.get(path, params={"projectId": world.project_b}, headers=supplier_a.headers)
    missing = client.get(path, params={"projectId": MISSING_ID}, headers=supplier_a.headers)
    _same_not_found(other, missing, "project-status of another supplier's project")


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="all"),
        pytest.param({"supplierId": "B"}, id="of B"),
        pytest.param({"projectId": "PS"}, id="of the shared project"),
    ],
)
def test_supplier_exports_hold_only_its_own_rows(
    client: TestClient,
    world: World,
    supplier_a: Caller,
    b_overdue: None,
    params: dict[str, str],
) -> None:
    """The CSV export and the performance report of supplier A never name B."""
    ids = {"B": world.supplier_b, "PS": world.project_shared}
    query = {name: ids[value] for name, value in params.items()}
    export = client.get("/api/reports/task-instances", params=query, headers=supplier_a.headers)
    assert export.status_code == 200, export.text
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    expected = {world.instance_a, world.instance_a_shared}
    if "supplierId" in query:
        expected = set()
    elif "projectId" in query:
        expected = {world.instance_a_shared}
    assert {int(row["id"]) for row in rows} == expected
    assert {row["supplierCode"] for row in rows} <= {world.supplier_a_code}
    performance = client.get(
        "/api/reports/supplier-performance",
        params={
            **query,
            "from": (today() - timedelta(days=30)).isoformat(),
            "to": (today() + timedelta(days=60)).isoformat(),
        },
        headers=supplier_a.headers,
    )
    assert performance.status_code == 200, performance.text
    assert {item["supplierId"] for item in performance.json()["items"]} <= {world.supplier_a}


def test_project_status_csv_names_the_project(
    client: TestClient, world: World, viewer: Caller
) -> None:
    """The CSV carries the same project name as the JSON report."""
    params = {"projectId": world.project_a}
    report = client.get("/api/reports/project-status", params=params, headers=viewer.headers)
    name = report.json()["items"][0]["name"]
    exported = client.get(
        "/api/reports/project-status", params={**params, "format": "csv"}, headers=viewer.headers
    )
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows
    assert {row["projectName"] for row in rows} == {name}
