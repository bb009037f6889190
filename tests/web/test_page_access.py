"""The pages' contract, route by route: who may open each, what another supplier gets, that
every form refuses a request without its CSRF secret, and that no query string answers 500.

The API's contract is tests/contract/scope_table.py; tests/contract/support.app_routes leaves
the pages out of it because they are held here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.identity import Role
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory
from tests.web.conftest import csrf_of, sign_in

STAFF = ("admin", "manager", "viewer")
ROLES = (*STAFF, "supplier")
MISSING = 987654321

# GET pages: the status each role gets for an object it can see ({id}: the supplier's own).
# 303: sent elsewhere (a supplier's "/" is its portal, staff's portal is the task list).
PAGES: dict[str, dict[str, int]] = {
    "/": {"admin": 200, "manager": 200, "viewer": 200, "supplier": 303},
    "/portal": {"admin": 303, "manager": 303, "viewer": 303, "supplier": 200},
    "/projects/{project_id}": dict.fromkeys(ROLES, 200),
    "/suppliers": {"admin": 200, "manager": 200, "viewer": 200, "supplier": 403},
    "/suppliers/{supplier_id}": dict.fromkeys(ROLES, 200),
    "/tasks": dict.fromkeys(ROLES, 200),
    "/tasks/{instance_id}": dict.fromkeys(ROLES, 200),
    "/tasks/{instance_id}/due": dict.fromkeys(ROLES, 303),
    "/bulk": {"admin": 200, "manager": 200, "viewer": 403, "supplier": 403},
    "/bulk/operations/{operation_id}": {
        "admin": 404,  # MISSING: the gate comes first, then the lookup
        "manager": 404,
        "viewer": 403,
        "supplier": 403,
    },
    "/bulk/operations/{operation_id}/progress": {
        "admin": 404,
        "manager": 404,
        "viewer": 403,
        "supplier": 403,
    },
    "/operations": {"admin": 200, "manager": 403, "viewer": 403, "supplier": 403},
    "/operations/data-checks/{job_id}/progress": {
        "admin": 404,
        "manager": 403,
        "viewer": 403,
        "supplier": 403,
    },
    "/signin": dict.fromkeys(ROLES, 200),
}
# Forms (POST): every one wants the session's CSRF secret.
FORMS = (
    "/signin",
    "/signout",
    "/tasks/{instance_id}/status",
    "/tasks/{instance_id}/notes",
    "/tasks/{instance_id}/due/preview",
    "/tasks/{instance_id}/due",
    "/bulk/preview",
    "/bulk/apply",
    "/bulk/operations/{operation_id}/undo",
    "/operations/data-checks",
)
# Pages whose object a supplier must not tell from a missing one.
OWNED = ("/projects/{project_id}", "/suppliers/{supplier_id}", "/tasks/{instance_id}")


@dataclass
class World:
    """Two suppliers on a project, each with its own instance, and a project of the other's."""

    callers: dict[str, Caller]
    ids: dict[str, int]  # the supplier's own objects
    others: dict[str, int]  # the other supplier's


@pytest.fixture
def world(session: Session, factory: Factory) -> World:
    project = factory.project()
    factory.template(project, name="PPAP")
    mine, theirs = factory.supplier(), factory.supplier()
    factory.assign(project, mine)
    factory.assign(project, theirs)
    elsewhere = factory.project()
    factory.template(elsewhere, name="Run at rate")
    factory.assign(elsewhere, theirs)
    session.flush()

    def instance_of(supplier_id: int) -> int:
        found = session.scalar(
            select(TaskInstance.id).where(
                TaskInstance.supplier_id == supplier_id, TaskInstance.project_id == project.id
            )
        )
        assert found is not None
        return found

    callers = {role: make_caller(session, Role(role)) for role in STAFF}
    callers["supplier"] = make_caller(session, Role.SUPPLIER, mine.id)
    ids = {
        "project_id": project.id,
        "supplier_id": mine.id,
        "instance_id": instance_of(mine.id),
        "operation_id": MISSING,
        "job_id": MISSING,
    }
    others = {
        "project_id": elsewhere.id,
        "supplier_id": theirs.id,
        "instance_id": instance_of(theirs.id),
    }
    return World(callers, ids, others)


def page_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every page route the application serves."""
    found: set[tuple[str, str]] = set()
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            pending.extend(candidates())
            continue
        original = getattr(route, "original_route", route)
        if getattr(original, "page", False):
            found.update((method, original.path) for method in original.methods - {"HEAD"})
        elif getattr(route, "routes", None) is not None and not hasattr(route, "methods"):
            pending.extend(route.routes)
    return found


def test_every_page_route_is_in_this_contract(app: FastAPI) -> None:
    served = page_routes(app)
    listed = {("GET", path) for path in PAGES} | {("POST", path) for path in FORMS}
    assert served == listed


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("template", list(PAGES))
def test_who_may_open_each_page(client: TestClient, world: World, role: str, template: str) -> None:
    sign_in(client, world.callers[role])
    answer = client.get(template.format(**world.ids), follow_redirects=False)
    expected = PAGES[template][role]
    assert answer.status_code == expected, (template, role, answer.text[:300])
    if expected != 303:
        assert answer.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in answer.headers["content-security-policy"]


@pytest.mark.parametrize("template", OWNED)
def test_another_suppliers_page_is_not_found_like_a_missing_one(
    client: TestClient, world: World, template: str
) -> None:
    sign_in(client, world.callers["supplier"])
    theirs = client.get(template.format(**{**world.ids, **world.others}))
    missing = client.get(template.format(**dict.fromkeys(world.ids, MISSING)))
    assert theirs.status_code == 404
    assert missing.status_code == 404
    theirs_id = world.others[template.split("{")[1].split("}", maxsplit=1)[0]]

    def unnamed(html: str, number: int) -> str:
        return re.sub(rf"(?<![\w-]){number}(?![\w-])", "?", html)

    assert unnamed(theirs.text, theirs_id) == unnamed(missing.text, MISSING)


def _history(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(TaskInstanceHistory)) or 0


@pytest.mark.parametrize("template", FORMS)
@pytest.mark.parametrize("csrf", ["", "forged"])
def test_every_form_refuses_a_post_without_its_secret(
    client: TestClient, session: Session, world: World, template: str, csrf: str
) -> None:
    sign_in(client, world.callers["admin"])
    before = _history(session)
    data = {"csrf": csrf, "status": "IN_PROGRESS", "notes": "x", "token": "st_x"}
    answer = client.post(template.format(**world.ids), data=data, follow_redirects=False)
    assert answer.status_code == 403, (template, answer.text[:300])
    assert _history(session) == before
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


BAD_QUERIES = (
    "?cursor=%00%ff",
    "?cursor=bogus",
    "?sort=nonsense",
    "?sort=-",
    "?limit=-1",
    "?asOf=2026-13-45",
    "?projectId=abc",
    "?projectId=99999999999999999999",
    "?supplierId=-5",
    "?status=NOPE",
    "?from=2026-02-30&to=x",
    "?overdue=maybe",
    "?format=pdf",
    "?before=abc",
    "?notice=%3Cscript%3E",
)


@pytest.mark.parametrize("role", ["admin", "supplier"])
def test_no_query_string_makes_a_page_fail(client: TestClient, world: World, role: str) -> None:
    sign_in(client, world.callers[role])
    for template in PAGES:
        for query in BAD_QUERIES:
            answer = client.get(template.format(**world.ids) + query, follow_redirects=False)
            assert answer.status_code < 500, (template, query, answer.text[:300])
            assert "<script>" not in answer.text, (template, query)


def test_a_form_with_a_page_of_the_session_and_garbage_fields_is_a_4xx(
    client: TestClient, session: Session, world: World
) -> None:
    sign_in(client, world.callers["admin"])
    page = client.get(f"/tasks/{world.ids['instance_id']}")
    secret = csrf_of(page.text)
    before = _history(session)
    for template in FORMS:
        if template in {"/signin", "/signout", "/operations/data-checks"}:
            continue  # no fields to get wrong (running the checks takes none)
        for data in (
            {"csrf": secret},
            {"csrf": secret, "status": "\x00", "version": "x", "actualDue": "2026-02-30"},
            {"csrf": secret, "notes": "n" * 100_000},
        ):
            answer = client.post(template.format(**world.ids), data=data, follow_redirects=False)
            assert 400 <= answer.status_code < 500, (template, data.keys(), answer.text[:300])
    assert _history(session) == before
