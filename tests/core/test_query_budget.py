"""Query budgets: each endpoint sends a small, fixed number of statements, whatever the page size.

Statements are counted with a ``before_cursor_execute`` listener on the test engine; only those
that read or write rows count (the test's SAVEPOINTs do not). A budget that grows with the page
is an N+1; a budget that changes is worth a look either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from tests.core.helpers import recording
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory

SUPPLIERS = 12
ASSIGNED = 6
TEMPLATES = 10  # ASSIGNED x TEMPLATES = 60 instances: more than the large page below
HISTORY = 12
SMALL, LARGE = 3, 60


@pytest.fixture(autouse=True)
def _uncached(database: Database) -> None:
    """Budgets count what a request sends to the database: nothing comes from the cache."""
    database.cache.enabled = False


@dataclass
class World:
    """One project with enough of everything to fill the large page."""

    project_id: int
    supplier_ids: list[int]
    template_ids: list[int]
    instance_id: int
    supplier: Caller


@pytest.fixture
def world(factory: Factory, session: Session, client: TestClient, manager: Caller) -> World:
    """Suppliers with capabilities, chained templates, fanned-out instances, a long history."""
    project = factory.project()
    suppliers = [
        factory.supplier(capabilities=("machining", f"cap-{n}", "pcb_assembly"))
        for n in range(SUPPLIERS)
    ]
    templates = [factory.template(project)]
    for _ in range(TEMPLATES - 1):
        prerequisites = tuple(sorted({templates[-1].id, templates[0].id}))
        templates.append(factory.template(project, depends_on=prerequisites))
    for supplier in suppliers[:ASSIGNED]:
        factory.assign(project, supplier)
    supplier_caller = make_caller(session, Role.SUPPLIER, suppliers[0].id)
    listed = client.get(
        f"/api/task-instances?projectId={project.id}&limit=1", headers=manager.headers
    )
    instance_id = listed.json()["items"][0]["id"]
    for n in range(HISTORY):
        patched = client.patch(
            f"/api/task-instances/{instance_id}", json={"notes": f"n{n}"}, headers=manager.headers
        )
        assert patched.status_code == 200, patched.text
    return World(
        project.id,
        [s.id for s in suppliers],
        [t.id for t in templates],
        instance_id,
        supplier_caller,
    )


def _count(client: TestClient, database: Database, path: str, caller: Caller) -> tuple[int, int]:
    """(data statements, items returned) of one GET."""
    with recording(database.engine) as log:
        response = client.get(path, headers=caller.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    items = len(body["items"]) if isinstance(body, dict) and "items" in body else 1
    return len(log.data), items


LISTS = [
    # (name, path, role, budget, rows available to the large page)
    ("instances by project", "/api/task-instances?projectId={p}&limit={n}", "manager", 2, 60),
    ("instances, supplier scope", "/api/task-instances?limit={n}", "supplier", 2, TEMPLATES),
    ("instances by status", "/api/task-instances?status=NOT_STARTED&limit={n}", "manager", 2, 60),
    ("projects", "/api/projects?limit={n}", "manager", 2, 1),
    ("suppliers with capabilities", "/api/suppliers?limit={n}", "manager", 3, SUPPLIERS),
    ("templates with dependsOn", "/api/projects/{p}/task-templates?limit={n}", "manager", 4, 10),
    ("assignments", "/api/projects/{p}/suppliers?limit={n}", "manager", 3, ASSIGNED),
    ("history", "/api/task-instances/{i}/history?limit={n}", "manager", 3, HISTORY),
]


@pytest.mark.parametrize(
    ("path", "role", "budget", "rows"),
    [pytest.param(*case[1:], id=case[0]) for case in LISTS],
)
def test_list_budget_does_not_grow_with_the_page(
    client: TestClient,
    database: Database,
    world: World,
    manager: Caller,
    path: str,
    role: str,
    budget: int,
    rows: int,
) -> None:
    caller = world.supplier if role == "supplier" else manager
    fill = {"p": world.project_id, "i": world.instance_id}
    small, small_items = _count(client, database, path.format(n=SMALL, **fill), caller)
    large, large_items = _count(client, database, path.format(n=LARGE, **fill), caller)
    assert small_items == min(SMALL, rows)
    assert large_items >= rows  # the large page really holds every row
    assert (small, large) == (budget, budget)


SINGLES = [
    ("project", "/api/projects/{p}", 2),
    ("supplier with capabilities", "/api/suppliers/{s}", 3),
    ("template with dependsOn", "/api/task-templates/{t}", 3),
    ("instance", "/api/task-instances/{i}", 2),
]


@pytest.mark.parametrize(
    ("path", "budget"), [pytest.param(*case[1:], id=case[0]) for case in SINGLES]
)
def test_single_resource_budget(
    client: TestClient, database: Database, world: World, manager: Caller, path: str, budget: int
) -> None:
    fill = {
        "p": world.project_id,
        "s": world.supplier_ids[0],
        "t": world.template_ids[-1],
        "i": world.instance_id,
    }
    count, _ = _count(client, database, path.format(**fill), manager)
    assert count == budget


def test_patch_budget_is_constant(
    client: TestClient, database: Database, world: World, manager: Caller
) -> None:
    """Changing one field or three costs the same number of statements (one audit INSERT)."""
    counts = []
    for body in ({"notes": "one field"}, {"notes": "three", "status": "IN_PROGRESS"}):
        with recording(database.engine) as log:
            response = client.patch(
                f"/api/task-instances/{world.instance_id}", json=body, headers=manager.headers
            )
        assert response.status_code == 200, response.text
        counts.append(len(log.data))
        inserts = [s for s in log.data if s.lstrip().upper().startswith("INSERT")]
        assert len(inserts) == 1, inserts
    assert counts[0] == counts[1]


def test_fan_out_is_one_statement_whatever_the_templates(
    client: TestClient, database: Database, world: World, manager: Caller
) -> None:
    """Assigning a supplier to a project with ten templates inserts them in one statement."""
    supplier_id = world.supplier_ids[-1]
    with recording(database.engine) as log:
        response = client.post(
            f"/api/projects/{world.project_id}/suppliers",
            json={"supplierId": supplier_id},
            headers=manager.headers,
        )
    assert response.status_code == 201, response.text
    instance_inserts = [
        s for s in log.data if s.lstrip().upper().startswith("INSERT INTO TASK_INSTANCES")
    ]
    assert len(instance_inserts) == 1
    created = client.get(
        f"/api/task-instances?projectId={world.project_id}&supplierId={supplier_id}&limit=100",
        headers=manager.headers,
    )
    assert len(created.json()["items"]) == TEMPLATES


def _writes(log: Any, prefix: str) -> list[str]:
    return [s for s in log.data if s.lstrip().upper().startswith(prefix)]


@pytest.mark.parametrize(
    "body",
    [
        {"shiftDays": 2},
        {"shiftWorkingDays": 1},
        {"actualDue": "{due}"},
        {"actualDue": "{due}", "notes": "and a note", "status": "IN_PROGRESS"},
    ],
    ids=["shiftDays", "shiftWorkingDays", "actualDue", "date, notes and status"],
)
def test_a_due_date_patch_is_one_update_and_one_history_insert(
    client: TestClient, database: Database, world: World, manager: Caller, body: dict[str, Any]
) -> None:
    """The instance is written once (all its fields) and every change audited in one INSERT."""
    # A leaf milestone: nothing downstream, so no cascade writes either.
    leaf = client.get(
        f"/api/task-instances?taskTemplateId={world.template_ids[-1]}&limit=1",
        headers=manager.headers,
    ).json()["items"][0]
    due = (date.fromisoformat(leaf["actualDue"]) + timedelta(days=3)).isoformat()
    sent = {
        key: value.format(due=due) if isinstance(value, str) else value
        for key, value in body.items()
    }
    with recording(database.engine) as log:
        response = client.patch(
            f"/api/task-instances/{leaf['id']}",
            json={**sent, "reasonCode": "PLAN_CHANGE"},
            headers=manager.headers,
        )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == leaf["version"] + 1
    assert len(_writes(log, "UPDATE TASK_INSTANCES")) == 1, _writes(log, "UPDATE")
    assert len(_writes(log, "INSERT INTO TASK_INSTANCE_HISTORY")) == 1, _writes(log, "INSERT")


def test_a_milestone_move_reads_its_planning_context_once(
    client: TestClient, database: Database, world: World, manager: Caller
) -> None:
    """Project window, calendar, dependency graph: each read once for a cascading move."""
    head = world.template_ids[0]
    with recording(database.engine) as log:
        response = client.patch(
            f"/api/task-templates/{head}",
            json={"shiftDays": 3, "cascade": True, "reasonCode": "PLAN_CHANGE"},
            headers=manager.headers,
        )
    assert response.status_code == 200, response.text

    def reads(table: str) -> list[str]:
        return [
            s
            for s in log.data
            if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s.upper()
        ]

    assert len(reads("PROJECT_CALENDARS")) == 1, reads("PROJECT_CALENDARS")
    assert len(reads("TASK_TEMPLATE_DEPENDENCIES")) == 1, reads("TASK_TEMPLATE_DEPENDENCIES")
    # The route reads the project once to find it visible, the planner once for its window.
    assert len(reads("PROJECTS")) <= 2, reads("PROJECTS")
