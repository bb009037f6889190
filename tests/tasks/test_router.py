"""Task instances over HTTP: filters, pages, the status machine, audit rows, ETags."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.identity import Role
from supplytrack.core.time import today
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory, days


@pytest.fixture
def instance_id(factory: Factory, session: Session) -> int:
    project = factory.project()
    factory.assign(project, factory.supplier())
    factory.template(project)
    return int(session.scalars(select(TaskInstance.id)).one())


def _patch(client: TestClient, caller: Caller, instance_id: int, **body: object) -> dict:
    response = client.patch(f"/api/task-instances/{instance_id}", json=body, headers=caller.headers)
    return {**response.json(), "http": response.status_code}


def test_patch_status_writes_history_with_actor_reason_and_request_id(
    client: TestClient, manager: Caller, instance_id: int, session: Session
) -> None:
    response = client.patch(
        f"/api/task-instances/{instance_id}",
        json={"status": "IN_PROGRESS", "reason": "kick-off held"},
        headers={**manager.headers, "If-Match": '"1"', "X-Request-ID": "req-42"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "IN_PROGRESS"
    assert response.headers["ETag"] == '"2"'
    rows = session.scalars(select(TaskInstanceHistory)).all()
    assert [
        (r.field, r.old_value, r.new_value, r.source, r.request_id, r.actor_id) for r in rows
    ] == [("STATUS", "NOT_STARTED", "IN_PROGRESS", "API", "req-42", manager.token_id)]
    history = client.get(f"/api/task-instances/{instance_id}/history", headers=manager.headers)
    assert history.json()["items"][0]["reason"] == "kick-off held"
    assert history.json()["items"][0]["actor"] == "manager:test-manager"


def test_full_cycle_sets_and_clears_timestamps(
    client: TestClient, manager: Caller, instance_id: int
) -> None:
    assert _patch(client, manager, instance_id, status="IN_PROGRESS")["http"] == 200
    submitted = _patch(client, manager, instance_id, status="SUBMITTED")
    assert submitted["submittedAt"] is not None
    rejected = _patch(client, manager, instance_id, status="REJECTED")
    assert rejected["http"] == 422
    assert rejected["error"]["code"] == "REASON_REQUIRED"
    assert _patch(client, manager, instance_id, status="REJECTED", reason="dims off")["http"] == 200
    resubmitted = _patch(client, manager, instance_id, status="SUBMITTED")
    assert resubmitted["submittedAt"] == submitted["submittedAt"]
    approved = _patch(client, manager, instance_id, status="APPROVED")
    assert approved["completedAt"] is not None
    reopened = _patch(client, manager, instance_id, status="IN_PROGRESS", reason="customer audit")
    assert reopened["completedAt"] is None
    history = client.get(
        f"/api/task-instances/{instance_id}/history?field=STATUS", headers=manager.headers
    ).json()["items"]
    assert [item["newValue"] for item in history] == [
        "IN_PROGRESS",
        "APPROVED",
        "SUBMITTED",
        "REJECTED",
        "SUBMITTED",
        "IN_PROGRESS",
    ]


def test_invalid_and_forbidden_transitions(
    client: TestClient, manager: Caller, instance_id: int, session: Session
) -> None:
    invalid = _patch(client, manager, instance_id, status="APPROVED")
    assert invalid["http"] == 422
    assert invalid["error"]["code"] == "INVALID_TRANSITION"
    assert set(invalid["error"]["details"][0]["allowedTargets"]) == {
        "IN_PROGRESS",
        "BLOCKED",
        "WAIVED",
    }
    supplier_id = session.scalars(select(TaskInstance.supplier_id)).one()
    supplier = make_caller(session, Role.SUPPLIER, supplier_id)
    assert _patch(client, supplier, instance_id, status="IN_PROGRESS")["http"] == 200
    assert _patch(client, supplier, instance_id, status="SUBMITTED")["http"] == 200
    forbidden = _patch(client, supplier, instance_id, status="APPROVED")
    assert forbidden["http"] == 403
    assert forbidden["error"]["code"] == "TRANSITION_FORBIDDEN"
    due = _patch(
        client, supplier, instance_id, actualDue=days(40).isoformat(), reasonCode="SUPPLIER_REQUEST"
    )
    assert due["http"] == 403
    assert _patch(client, supplier, instance_id, notes="first samples shipped")["http"] == 200
    assert (
        session.scalar(select(TaskInstance.status).where(TaskInstance.id == instance_id))
        == "SUBMITTED"
    )


def test_due_date_and_notes_are_audited_and_unchanged_fields_are_not(
    client: TestClient, manager: Caller, instance_id: int, session: Session
) -> None:
    new_due = days(45).isoformat()
    no_code = _patch(client, manager, instance_id, actualDue=new_due, reason="tooling")
    assert no_code["http"] == 422
    assert no_code["error"]["code"] == "REASON_CODE_REQUIRED"
    moved = _patch(
        client,
        manager,
        instance_id,
        actualDue=new_due,
        notes="x",
        reason="tooling",
        reasonCode="TOOLING_DELAY",
    )
    assert moved["actualDue"] == new_due
    again = _patch(client, manager, instance_id, actualDue=new_due, notes="x")
    assert again["version"] == moved["version"]
    rows = session.scalars(select(TaskInstanceHistory).order_by(TaskInstanceHistory.id)).all()
    assert sorted((r.field, r.new_value) for r in rows) == [("ACTUAL_DUE", new_due), ("NOTES", "x")]
    assert {r.reason for r in rows} == {"tooling"}


def test_stale_if_match_is_412_and_changes_nothing(
    client: TestClient, manager: Caller, instance_id: int, session: Session
) -> None:
    _patch(client, manager, instance_id, notes="one")
    stale = client.patch(
        f"/api/task-instances/{instance_id}",
        json={"notes": "two"},
        headers={**manager.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 412
    assert (
        client.get(f"/api/task-instances/{instance_id}", headers=manager.headers).json()["notes"]
        == "one"
    )
    assert len(session.scalars(select(TaskInstanceHistory)).all()) == 1


def test_list_filters_overdue_and_pages(
    client: TestClient, viewer: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    suppliers = [factory.supplier() for _ in range(3)]
    for supplier in suppliers:
        factory.assign(project, supplier)
    for offset in (10, 20, 30, 40):
        factory.template(project, canonical_due=days(offset))
    # Two of supplier 0's instances fell behind (dates in the past, set directly: the API
    # refuses past dates).
    session.execute(
        update(TaskInstance)
        .where(TaskInstance.supplier_id == suppliers[0].id, TaskInstance.actual_due <= days(20))
        .values(actual_due=today() - timedelta(days=3))
    )
    base = f"/api/task-instances?projectId={project.id}"
    overdue = client.get(base + "&overdue=true", headers=viewer.headers).json()["items"]
    assert {item["supplierId"] for item in overdue} == {suppliers[0].id}
    assert len(overdue) == 2
    assert all(item["overdue"] for item in overdue)
    not_overdue = client.get(base + "&overdue=false", headers=viewer.headers).json()["items"]
    assert len(not_overdue) == 10
    window = client.get(
        base + f"&dueAfter={days(15).isoformat()}&dueBefore={days(35).isoformat()}",
        headers=viewer.headers,
    ).json()["items"]
    assert {item["actualDue"] for item in window} == {days(20).isoformat(), days(30).isoformat()}
    seen: list[str] = []
    cursor = None
    while True:
        url = base + "&sort=-actualDue&limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=viewer.headers).json()
        seen += [f"{item['actualDue']}#{item['id']}" for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12
    assert seen == sorted(
        seen, key=lambda key: (key.split("#")[0], int(key.split("#")[1])), reverse=True
    )
    by_status = client.get(
        base + f"&status=NOT_STARTED&status=WAIVED&supplierId={suppliers[1].id}",
        headers=viewer.headers,
    ).json()["items"]
    assert len(by_status) == 4


def test_create_instance_checks_capability_and_duplicates(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    supplier = factory.supplier()
    assignment = factory.assign(project, supplier)
    template = factory.template(project, required_capability="glass")
    body = {"supplierProjectId": assignment.id, "taskTemplateId": template.id}
    missing = client.post("/api/task-instances", json=body, headers=manager.headers)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "CAPABILITY_MISSING"
    plain = factory.template(project)
    duplicate = client.post(
        "/api/task-instances", json={**body, "taskTemplateId": plain.id}, headers=manager.headers
    )
    assert duplicate.status_code == 409
    instance_id = session.scalars(
        select(TaskInstance.id).where(TaskInstance.task_template_id == plain.id)
    ).one()
    assert (
        client.delete(f"/api/task-instances/{instance_id}", headers=manager.headers).status_code
        == 204
    )
    recreated = client.post(
        "/api/task-instances", json={**body, "taskTemplateId": plain.id}, headers=manager.headers
    )
    assert recreated.status_code == 201, recreated.text
    assert recreated.json()["actualDue"] == plain.canonical_due.isoformat()


def test_fast_json_is_exactly_the_models_json(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    """The list and the single GET skip model validation; their JSON must not differ from it."""
    from supplytrack.core.identity import system_actor
    from supplytrack.core.pagination import parse_sort
    from supplytrack.tasks.repository import TaskFilter, TaskRepository
    from supplytrack.tasks.schemas import TaskInstanceRead

    project = factory.project(sop_date=days(35))
    factory.assign(project, factory.supplier())
    factory.template(project, canonical_due=days(30))
    factory.template(project, canonical_due=days(34))
    first = session.scalars(select(TaskInstance.id).order_by(TaskInstance.id)).first()
    client.patch(
        f"/api/task-instances/{first}",
        json={"status": "IN_PROGRESS", "notes": "ü"},
        headers=manager.headers,
    )
    client.patch(
        f"/api/task-instances/{first}",
        json={"actualDue": days(40).isoformat(), "reasonCode": "OTHER", "reason": "late tooling"},
        headers=manager.headers,
    )
    session.execute(
        update(TaskInstance)
        .where(TaskInstance.id != first)
        .values(actual_due=today() - timedelta(days=2))
    )
    repository = TaskRepository(session, system_actor())
    sort = parse_sort("id", {"id": TaskInstance.id}, TaskInstance.id)
    rows = repository.page_rows(
        TaskFilter(project_id=project.id), today(), sort=sort, cursor=None, limit=50
    )
    expected = [
        TaskInstanceRead.model_validate(dict(r._mapping)).model_dump(mode="json", by_alias=True)
        for r in rows
    ]
    listed = client.get(f"/api/task-instances?projectId={project.id}", headers=manager.headers)
    assert listed.json()["items"] == expected
    assert {item["atRisk"] for item in expected} == {True, False}
    assert {item["overdue"] for item in expected} == {True, False}
    one = client.get(f"/api/task-instances/{first}", headers=manager.headers)
    assert one.json() == next(item for item in expected if item["id"] == first)
    assert one.headers["ETag"] == f'"{one.json()["version"]}"'
