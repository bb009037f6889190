"""Templates over HTTP: dependencies in the project, no cycles, fan-out, deletes."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory, days


def _create(client: TestClient, caller: Caller, project_id: int, **body: object) -> dict:
    payload = {"name": "Milestone", "canonicalDue": days(30).isoformat(), **body}
    response = client.post(
        f"/api/projects/{project_id}/task-templates", json=payload, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_fans_out_to_capable_assigned_suppliers(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    factory.assign(project, factory.supplier(capabilities=("machining",)))
    factory.assign(project, factory.supplier())
    general = _create(client, manager, project.id, name="PPAP")
    assert general["instancesCreated"] == 2
    special = _create(
        client,
        manager,
        project.id,
        name="Cpk",
        requiredCapability="machining",
        dependsOn=[general["id"]],
    )
    assert special["instancesCreated"] == 1
    assert special["dependsOn"] == [general["id"]]
    fetched = client.get(f"/api/task-templates/{special['id']}", headers=manager.headers)
    assert fetched.json()["dependsOn"] == [general["id"]]
    assert session.scalar(select(func.count()).select_from(TaskInstance)) == 3


def test_dependencies_stay_in_the_project_and_acyclic(
    client: TestClient, manager: Caller, factory: Factory
) -> None:
    project, other = factory.project(), factory.project()
    a = _create(client, manager, project.id, name="A")
    b = _create(client, manager, project.id, name="B", dependsOn=[a["id"]])
    c = _create(client, manager, project.id, name="C", dependsOn=[b["id"]])
    foreign = _create(client, manager, other.id, name="X")
    outside = client.post(
        f"/api/projects/{project.id}/task-templates",
        json={"name": "D", "canonicalDue": days(30).isoformat(), "dependsOn": [foreign["id"]]},
        headers=manager.headers,
    )
    assert outside.status_code == 422
    assert outside.json()["error"]["code"] == "DEPENDENCY_NOT_IN_PROJECT"
    cycle = client.patch(
        f"/api/task-templates/{a['id']}", json={"dependsOn": [c["id"]]}, headers=manager.headers
    )
    assert cycle.status_code == 422
    assert cycle.json()["error"]["code"] == "DEPENDENCY_CYCLE"
    assert set(cycle.json()["error"]["details"][0]["cycle"]) == {a["id"], b["id"], c["id"]}
    itself = client.patch(
        f"/api/task-templates/{a['id']}", json={"dependsOn": [a["id"]]}, headers=manager.headers
    )
    assert itself.status_code == 422
    assert (
        client.get(f"/api/task-templates/{a['id']}", headers=manager.headers).json()["dependsOn"]
        == []
    )


def test_delete_rules(client: TestClient, manager: Caller, factory: Factory) -> None:
    project = factory.project()
    a = _create(client, manager, project.id, name="A")
    b = _create(client, manager, project.id, name="B", dependsOn=[a["id"]])
    blocked = client.delete(f"/api/task-templates/{a['id']}", headers=manager.headers)
    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "HAS_DEPENDENTS"
    assert (
        client.delete(f"/api/task-templates/{b['id']}", headers=manager.headers).status_code == 204
    )
    assert (
        client.delete(f"/api/task-templates/{a['id']}", headers=manager.headers).status_code == 204
    )
    assert client.get(f"/api/task-templates/{a['id']}", headers=manager.headers).status_code == 404


def test_duplicate_name_and_list_order(
    client: TestClient, manager: Caller, factory: Factory
) -> None:
    project = factory.project()
    _create(client, manager, project.id, name="Late", sequence=2)
    _create(client, manager, project.id, name="Early", sequence=1)
    duplicate = client.post(
        f"/api/projects/{project.id}/task-templates",
        json={"name": "Late", "canonicalDue": days(30).isoformat()},
        headers=manager.headers,
    )
    assert duplicate.status_code == 409
    listed = client.get(f"/api/projects/{project.id}/task-templates", headers=manager.headers)
    assert [item["name"] for item in listed.json()["items"]] == ["Early", "Late"]
