"""Projects over HTTP: CRUD, ETags and If-Match, deletes that would lose history."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplytrack.projects.models import Project
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory

BODY = {"code": "EV-1", "name": "EV one", "startDate": "2026-01-01", "sopDate": "2027-06-01"}


def test_create_then_get_project(client: TestClient, manager: Caller) -> None:
    created = client.post("/api/projects", json=BODY, headers=manager.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["code"] == "EV-1"
    assert body["status"] == "PLANNING"
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"/api/projects/{body['id']}"
    fetched = client.get(f"/api/projects/{body['id']}", headers=manager.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_duplicate_code_is_409(client: TestClient, manager: Caller, session: Session) -> None:
    assert client.post("/api/projects", json=BODY, headers=manager.headers).status_code == 201
    again = client.post("/api/projects", json=BODY, headers=manager.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "DUPLICATE_CODE"
    assert session.scalar(select(func.count()).select_from(Project)) == 1


def test_sop_before_start_is_refused(client: TestClient, manager: Caller) -> None:
    body = {**BODY, "sopDate": "2025-12-31"}
    assert client.post("/api/projects", json=body, headers=manager.headers).status_code == 422
    project_id = client.post("/api/projects", json=BODY, headers=manager.headers).json()["id"]
    patched = client.patch(
        f"/api/projects/{project_id}", json={"startDate": "2027-07-01"}, headers=manager.headers
    )
    assert patched.status_code == 422
    assert patched.json()["error"]["code"] == "INVALID_PROJECT_WINDOW"


def test_if_match_guards_updates(client: TestClient, manager: Caller) -> None:
    project_id = client.post("/api/projects", json=BODY, headers=manager.headers).json()["id"]
    url = f"/api/projects/{project_id}"
    first = client.patch(url, json={"name": "A"}, headers={**manager.headers, "If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["ETag"] == '"2"'
    stale = client.patch(url, json={"name": "B"}, headers={**manager.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert client.get(url, headers=manager.headers).json()["name"] == "A"
    stale_delete = client.delete(url, headers={**manager.headers, "If-Match": '"1"'})
    assert stale_delete.status_code == 412
    # An unchanged PATCH changes nothing, not even the version.
    same = client.patch(url, json={"name": "A"}, headers=manager.headers)
    assert same.headers["ETag"] == '"2"'


def test_put_replaces_every_field(client: TestClient, manager: Caller) -> None:
    project_id = client.post(
        "/api/projects", json={**BODY, "description": "old"}, headers=manager.headers
    ).json()["id"]
    replaced = client.put(
        f"/api/projects/{project_id}", json={"code": "EV-2", "name": "Two"}, headers=manager.headers
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["description"] is None
    assert replaced.json()["startDate"] is None
    assert replaced.json()["code"] == "EV-2"


def test_list_filters_sorts_and_pages(
    client: TestClient, manager: Caller, factory: Factory
) -> None:
    for name in ("Charlie", "alpha", "Bravo"):
        factory.project(name=name)
    factory.project(name="Delta", status="ON_HOLD")
    listed = client.get("/api/projects?sort=name&limit=2", headers=manager.headers).json()
    names = [item["name"] for item in listed["items"]]
    cursor = listed["nextCursor"]
    while cursor:
        page = client.get(
            f"/api/projects?sort=name&limit=2&cursor={cursor}", headers=manager.headers
        ).json()
        names += [item["name"] for item in page["items"]]
        cursor = page["nextCursor"]
    assert names == sorted(names)
    assert len(names) == 4
    on_hold = client.get("/api/projects?status=ON_HOLD", headers=manager.headers).json()
    assert [item["name"] for item in on_hold["items"]] == ["Delta"]
    found = client.get("/api/projects?q=RAV", headers=manager.headers).json()
    assert [item["name"] for item in found["items"]] == ["Bravo"]
    wildcard = client.get("/api/projects?q=%25", headers=manager.headers).json()
    assert wildcard["items"] == []


def test_delete_untouched_project_and_refuse_one_with_history(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    untouched = factory.project()
    factory.assign(untouched, factory.supplier())
    factory.template(untouched)
    assert (
        client.delete(f"/api/projects/{untouched.id}", headers=manager.headers).status_code == 204
    )
    assert session.scalar(select(func.count()).select_from(TaskInstance)) == 0

    worked = factory.project()
    factory.assign(worked, factory.supplier())
    factory.template(worked)
    instance_id = session.scalars(select(TaskInstance.id)).one()
    moved = client.patch(
        f"/api/task-instances/{instance_id}",
        json={"status": "IN_PROGRESS"},
        headers=manager.headers,
    )
    assert moved.status_code == 200
    refused = client.delete(f"/api/projects/{worked.id}", headers=manager.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "HAS_HISTORY"
    assert "ARCHIVED" in refused.json()["error"]["message"]
    assert session.get(Project, worked.id) is not None
