from fastapi.testclient import TestClient

from tests.fixtures.auth import Caller


def test_create_then_get_project(client: TestClient, manager: Caller) -> None:
    created = client.post(
        "/api/projects",
        json={"code": "EV-1", "name": "EV one", "startDate": "2026-01-01", "sopDate": "2027-06-01"},
        headers=manager.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["code"] == "EV-1"
    assert created.headers["ETag"] == '"1"'
    fetched = client.get(f"/api/projects/{body['id']}", headers=manager.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body
