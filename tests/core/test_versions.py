"""Versions move by exactly one per accepted change, on every PUT and PATCH route.

Each case changes one entity (plain fields, related sets such as capabilities or
prerequisites, dates, or all at once) and checks the answer's ETag and a fresh GET: the version
is one more than before, and sending the same change again leaves it where it is. A PUT or
PATCH route without a case here fails the suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.main import create_app
from supplytrack.tasks.models import TaskInstance
from tests.contract.support import app_routes
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory, days


@dataclass
class Things:
    """One of each versioned entity, with ids the cases' paths need."""

    project: int
    supplier: int
    template: int
    dependent: int
    instance: int


@pytest.fixture
def things(factory: Factory, session: Session) -> Things:
    project = factory.project()
    supplier = factory.supplier(capabilities=("machining",))
    first = factory.template(project, canonical_due=days(20))
    second = factory.template(project, canonical_due=days(40))
    factory.assign(project, supplier)
    instance = session.scalars(
        select(TaskInstance.id).where(TaskInstance.task_template_id == second.id)
    ).one()
    return Things(project.id, supplier.id, first.id, second.id, instance)


@dataclass(frozen=True)
class Case:
    """A change sent to a route, and the GET that reads the entity's version back."""

    method: str
    path: str
    body: Callable[[Things], dict[str, Any]]
    read: str = ""  # the GET path, when it is not the same as ``path``

    def url(self, things: Things) -> str:
        return self.path.format(**vars(things))

    def read_url(self, things: Things) -> str:
        return (self.read or self.path).format(**vars(things))


PROJECT = "/api/projects/{project}"
SUPPLIER = "/api/suppliers/{supplier}"
TEMPLATE = "/api/task-templates/{dependent}"
INSTANCE = "/api/task-instances/{instance}"
CALENDAR = "/api/projects/{project}/calendar"
PUT_PROJECT = {"code": "V-P", "name": "Versioned", "status": "ACTIVE", "sopDate": None}
CASES: dict[str, Case] = {
    "project name": Case("PATCH", PROJECT, lambda t: {"name": "Renamed program"}),
    "project window": Case("PATCH", PROJECT, lambda t: {"sopDate": days(400).isoformat()}),
    "project replaced": Case("PUT", PROJECT, lambda t: PUT_PROJECT),
    "supplier name": Case("PATCH", SUPPLIER, lambda t: {"name": "Renamed supplier"}),
    "supplier capabilities": Case(
        "PATCH", SUPPLIER, lambda t: {"capabilities": ["machining", "pcb_assembly"]}
    ),
    "supplier name and capabilities": Case(
        "PATCH", SUPPLIER, lambda t: {"name": "Both", "capabilities": ["casting"]}
    ),
    "supplier replaced": Case(
        "PUT",
        SUPPLIER,
        lambda t: {"code": "V-S", "name": "Replaced", "capabilities": ["casting", "machining"]},
    ),
    "template name": Case("PATCH", TEMPLATE, lambda t: {"name": "Renamed milestone"}),
    "template prerequisites": Case("PATCH", TEMPLATE, lambda t: {"dependsOn": [t.template]}),
    "template date": Case(
        "PATCH",
        TEMPLATE,
        lambda t: {"canonicalDue": days(45).isoformat(), "reasonCode": "PLAN_CHANGE"},
    ),
    "template everything": Case(
        "PATCH",
        TEMPLATE,
        lambda t: {
            "name": "All at once",
            "description": "x",
            "dependsOn": [t.template],
            "canonicalDue": days(50).isoformat(),
            "reasonCode": "PLAN_CHANGE",
        },
    ),
    "instance status": Case("PATCH", INSTANCE, lambda t: {"status": "IN_PROGRESS"}),
    "instance due date": Case(
        "PATCH",
        INSTANCE,
        lambda t: {"actualDue": days(41).isoformat(), "reasonCode": "TOOLING_DELAY"},
    ),
    "instance notes": Case("PATCH", INSTANCE, lambda t: {"notes": "called the plant"}),
    "instance everything": Case(
        "PATCH",
        INSTANCE,
        lambda t: {
            "status": "IN_PROGRESS",
            "actualDue": days(42).isoformat(),
            "notes": "all",
            "reasonCode": "OTHER",
        },
    ),
    "calendar weekdays": Case(
        "PUT", CALENDAR, lambda t: {"workingWeekdays": ["MON", "TUE", "WED", "THU"]}
    ),
    "calendar holidays only": Case(
        "PUT",
        CALENDAR,
        lambda t: {
            "workingWeekdays": ["MON", "TUE", "WED", "THU", "FRI"],
            "holidays": [{"date": days(60).isoformat(), "name": "Plant shutdown"}],
        },
    ),
}


def _version(client: TestClient, caller: Caller, url: str) -> int:
    response = client.get(url, headers=caller.headers)
    assert response.status_code == 200, response.text
    return int(response.headers["ETag"].strip('"'))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_accepted_change_moves_the_version_by_exactly_one(
    client: TestClient, manager: Caller, things: Things, case: Case
) -> None:
    before = _version(client, manager, case.read_url(things))
    body = case.body(things)
    changed = client.request(case.method, case.url(things), json=body, headers=manager.headers)
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == f'"{before + 1}"'
    assert _version(client, manager, case.read_url(things)) == before + 1
    again = client.request(case.method, case.url(things), json=body, headers=manager.headers)
    assert again.status_code == 200, again.text
    assert _version(client, manager, case.read_url(things)) == before + 1


def test_removing_an_assignment_moves_its_version_by_one(
    client: TestClient, manager: Caller, things: Things
) -> None:
    url = f"/api/projects/{things.project}/suppliers/{things.supplier}"
    listed = client.get(f"/api/projects/{things.project}/suppliers", headers=manager.headers)
    before = listed.json()["items"][0]["version"]
    removed = client.delete(url, headers=manager.headers)
    assert removed.status_code == 200, removed.text
    assert removed.json()["version"] == before + 1
    again = client.delete(url, headers=manager.headers)
    assert again.json()["version"] == before + 1


def test_every_put_and_patch_route_has_a_case() -> None:
    routes = {
        (method, path) for method, path in app_routes(create_app()) if method in {"PUT", "PATCH"}
    }
    # The cases name their path fields after the Things; the routes after their parameters.
    cased = {(case.method, re.sub(r"\{[a-z]+\}", "{}", case.path)) for case in CASES.values()}
    missing = sorted(
        (method, path)
        for method, path in routes
        if (method, re.sub(r"\{[a-z_]+\}", "{}", path)) not in cased
    )
    assert missing == [], f"PUT/PATCH routes without a version case: {missing}"
