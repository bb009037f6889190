"""Suppliers and assignments over HTTP: capabilities, fan-out, removal and re-assignment."""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory


def _count(session: Session, **where: int) -> int:
    stmt = select(func.count()).select_from(TaskInstance)
    for name, value in where.items():
        stmt = stmt.where(getattr(TaskInstance, name) == value)
    return int(session.scalar(stmt) or 0)


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind().engine

    def record(_c: object, _cur: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_supplier_crud_with_capabilities(client: TestClient, manager: Caller) -> None:
    created = client.post(
        "/api/suppliers",
        json={
            "code": "V100",
            "name": "Acme",
            "contactEmail": "q@acme.example",
            "capabilities": ["machining", "injection_molding", "machining"],
        },
        headers=manager.headers,
    )
    assert created.status_code == 201, created.text
    supplier = created.json()
    assert supplier["capabilities"] == ["injection_molding", "machining"]
    url = f"/api/suppliers/{supplier['id']}"
    changed = client.patch(
        url, json={"capabilities": ["pcb_assembly"]}, headers={**manager.headers, "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["capabilities"] == ["pcb_assembly"]
    assert changed.headers["ETag"] == '"2"'
    listed = client.get("/api/suppliers?capability=pcb_assembly", headers=manager.headers).json()
    assert [item["code"] for item in listed["items"]] == ["V100"]
    none = client.get("/api/suppliers?capability=machining", headers=manager.headers).json()
    assert none["items"] == []
    bad_email = client.post(
        "/api/suppliers",
        json={"code": "V2", "name": "B", "contactEmail": "nope"},
        headers=manager.headers,
    )
    assert bad_email.status_code == 422


def test_assignment_fans_out_capable_templates_in_one_statement(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    for index in range(5):
        factory.template(project, name=f"general {index}")
    factory.template(project, name="pcb only", required_capability="pcb_assembly")
    molder = factory.supplier(capabilities=("injection_molding",))
    pcb = factory.supplier(capabilities=("pcb_assembly",))
    with _statements(session) as statements:
        response = client.post(
            f"/api/projects/{project.id}/suppliers",
            json={"supplierId": molder.id},
            headers=manager.headers,
        )
    assert response.status_code == 201, response.text
    assert response.json()["instancesCreated"] == 5
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO TASK_INSTANCES")]
    assert len(inserts) == 1
    assert "SELECT" in inserts[0].upper()
    second = client.post(
        f"/api/projects/{project.id}/suppliers",
        json={"supplierId": pcb.id},
        headers=manager.headers,
    )
    assert second.json()["instancesCreated"] == 6
    assert _count(session, supplier_id=molder.id) == 5
    assert _count(session, supplier_id=pcb.id) == 6


def test_assignment_rules(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    supplier = factory.supplier()
    url = f"/api/projects/{project.id}/suppliers"
    assert (
        client.post(url, json={"supplierId": supplier.id}, headers=manager.headers).status_code
        == 201
    )
    duplicate = client.post(url, json={"supplierId": supplier.id}, headers=manager.headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "ALREADY_ASSIGNED"
    suspended = factory.supplier(status="SUSPENDED")
    refused = client.post(url, json={"supplierId": suspended.id}, headers=manager.headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "SUPPLIER_NOT_ACTIVE"
    closed = factory.project(status="COMPLETED")
    closed_response = client.post(
        f"/api/projects/{closed.id}/suppliers",
        json={"supplierId": supplier.id},
        headers=manager.headers,
    )
    assert closed_response.status_code == 409
    assert closed_response.json()["error"]["code"] == "PROJECT_CLOSED"
    missing = client.post(url, json={"supplierId": 999999}, headers=manager.headers)
    assert missing.status_code == 404


def test_remove_keeps_instances_and_reassign_fans_out_new_templates(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    factory.template(project)
    supplier = factory.supplier()
    factory.assign(project, supplier)
    removed = client.delete(
        f"/api/projects/{project.id}/suppliers/{supplier.id}", headers=manager.headers
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "REMOVED"
    assert removed.json()["removedAt"] is not None
    assert _count(session, supplier_id=supplier.id) == 1
    # A template added while the supplier is off the project does not reach it ...
    factory.template(project)
    assert _count(session, supplier_id=supplier.id) == 1
    # ... until it is re-assigned: the assignment is reactivated and the gap filled.
    again = client.post(
        f"/api/projects/{project.id}/suppliers",
        json={"supplierId": supplier.id},
        headers=manager.headers,
    )
    assert again.status_code == 201, again.text
    assert again.json()["status"] == "ACTIVE"
    assert again.json()["instancesCreated"] == 1
    assert _count(session, supplier_id=supplier.id) == 2
    listed = client.get(f"/api/projects/{project.id}/suppliers", headers=manager.headers).json()
    assert [item["supplierId"] for item in listed["items"]] == [supplier.id]


def test_supplier_with_history_cannot_be_deleted(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    factory.template(project)
    busy = factory.supplier()
    factory.assign(project, busy)
    instance_id = session.scalars(select(TaskInstance.id)).one()
    client.patch(
        f"/api/task-instances/{instance_id}",
        json={"status": "IN_PROGRESS"},
        headers=manager.headers,
    )
    refused = client.delete(f"/api/suppliers/{busy.id}", headers=manager.headers)
    assert refused.status_code == 409
    assert "INACTIVE" in refused.json()["error"]["message"]
    idle = factory.supplier()
    factory.assign(project, idle)
    assert client.delete(f"/api/suppliers/{idle.id}", headers=manager.headers).status_code == 204
    assert _count(session, supplier_id=idle.id) == 0
