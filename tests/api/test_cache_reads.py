"""Every cached GET: answered from the cache when nothing changed, fresh after any write to it.

Each case reads twice (the second read must be a cache hit, or the case proves nothing), makes
a change through the API, and reads again: the answer shows the change. The two-process
version of the same promise is tests/test_cache_processes.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from supplytrack.core.identity import Role
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory, days

WINDOW = "from=2020-01-01&to=2099-12-31"


def _start(world: World) -> None:
    world.change("PATCH", f"/api/task-instances/{world.instance_id}", {"status": "IN_PROGRESS"})


def _submit(world: World) -> None:
    _start(world)
    world.change("PATCH", f"/api/task-instances/{world.instance_id}", {"status": "SUBMITTED"})


def _hits(namespace: str) -> float:
    labels = {"namespace": namespace, "result": "hit"}
    return REGISTRY.get_sample_value("supplytrack_cache_lookups_total", labels) or 0.0


@dataclass
class World:
    client: TestClient
    manager: Caller
    supplier: Caller
    project_id: int
    other_project_id: int
    supplier_id: int
    template_id: int
    instance_id: int

    def get(self, path: str, caller: Caller | None = None) -> Any:
        answer = self.client.get(path, headers=(caller or self.manager).headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def change(self, method: str, path: str, body: Any) -> None:
        current = self.client.get(path, headers=self.manager.headers)
        headers = {**self.manager.headers, "If-Match": current.headers.get("etag", "*")}
        answer = self.client.request(method, path, json=body, headers=headers)
        assert answer.status_code in {200, 201}, answer.text


@pytest.fixture
def world(factory: Factory, session: Session, client: TestClient, manager: Caller) -> World:
    project = factory.project()
    other = factory.project()
    supplier = factory.supplier(capabilities=("machining",))
    template = factory.template(project)
    factory.assign(project, supplier)
    session.commit()
    supplier_caller = make_caller(session, Role.SUPPLIER, supplier.id)
    session.commit()
    listed = client.get(f"/api/task-instances?projectId={project.id}", headers=manager.headers)
    return World(
        client,
        manager,
        supplier_caller,
        project.id,
        other.id,
        supplier.id,
        template.id,
        listed.json()["items"][0]["id"],
    )


Case = tuple[str, str, Callable[[World], str], Callable[[World], None], Callable[[Any], Any]]
# Read as the supplier (scoped, cached per supplier); every other case reads as the manager.
AS_SUPPLIER = {"a supplier's project list, a new assignment"}

CASES: list[Case] = [
    (
        "one supplier, renamed",
        "suppliers",
        lambda w: f"/api/suppliers/{w.supplier_id}",
        lambda w: w.change("PATCH", f"/api/suppliers/{w.supplier_id}", {"name": "Renamed"}),
        lambda body: body["name"],
    ),
    (
        "supplier list, capabilities replaced",
        "suppliers",
        lambda w: "/api/suppliers?limit=500",
        lambda w: w.change(
            "PATCH", f"/api/suppliers/{w.supplier_id}", {"capabilities": ["painting"]}
        ),
        lambda body: sorted(c for item in body["items"] for c in item["capabilities"]),
    ),
    (
        "one project, renamed",
        "projects",
        lambda w: f"/api/projects/{w.project_id}",
        lambda w: w.change("PATCH", f"/api/projects/{w.project_id}", {"name": "Renamed"}),
        lambda body: body["name"],
    ),
    (
        "project list, renamed",
        "projects",
        lambda w: "/api/projects?limit=500",
        lambda w: w.change("PATCH", f"/api/projects/{w.project_id}", {"name": "Renamed"}),
        lambda body: sorted(item["name"] for item in body["items"]),
    ),
    (
        "a supplier's project list, a new assignment",
        "projects",
        lambda w: "/api/projects?limit=500",
        lambda w: w.change(
            "POST", f"/api/projects/{w.other_project_id}/suppliers", {"supplierId": w.supplier_id}
        ),
        lambda body: sorted(item["id"] for item in body["items"]),
    ),
    (
        "milestones, renamed",
        "templates",
        lambda w: f"/api/projects/{w.project_id}/task-templates",
        lambda w: w.change("PATCH", f"/api/task-templates/{w.template_id}", {"name": "Renamed"}),
        lambda body: [item["name"] for item in body["items"]],
    ),
    (
        "one milestone, renamed",
        "templates",
        lambda w: f"/api/task-templates/{w.template_id}",
        lambda w: w.change("PATCH", f"/api/task-templates/{w.template_id}", {"name": "Renamed"}),
        lambda body: body["name"],
    ),
    (
        "calendar, replaced",
        "calendars",
        lambda w: f"/api/projects/{w.project_id}/calendar",
        lambda w: w.change(
            "PUT",
            f"/api/projects/{w.project_id}/calendar",
            {
                "workingWeekdays": ["MON", "TUE"],
                "holidays": [{"date": days(40).isoformat(), "name": "Closed"}],
            },
        ),
        lambda body: (body["workingWeekdays"], body["holidays"]),
    ),
    (
        "project status, a task started",
        "reports",
        lambda w: f"/api/reports/project-status?projectId={w.project_id}",
        _start,
        lambda body: body["items"][0]["byStatus"],
    ),
    (
        "supplier performance, a task submitted",
        "reports",
        lambda w: (
            f"/api/reports/supplier-performance?projectId={w.project_id}&from=2020-01-01&to=2099-12-31"
        ),
        _submit,
        lambda body: body,
    ),
]


@pytest.mark.parametrize(
    ("namespace", "path", "write", "seen", "as_supplier"),
    [pytest.param(*case[1:], case[0] in AS_SUPPLIER, id=case[0]) for case in CASES],
)
def test_a_cached_read_shows_every_committed_change(
    world: World,
    namespace: str,
    path: Callable[[World], str],
    write: Callable[[World], None],
    seen: Callable[[Any], Any],
    as_supplier: bool,
) -> None:
    reader = world.supplier if as_supplier else world.manager
    before = seen(world.get(path(world), reader))
    hits = _hits(namespace)
    assert seen(world.get(path(world), reader)) == before
    assert _hits(namespace) == hits + 1, "the second read was not a cache hit"
    write(world)
    after = seen(world.get(path(world), reader))
    assert after != before
