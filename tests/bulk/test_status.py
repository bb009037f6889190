"""Bulk status updates: atomic or partial, the gate, audit rows, idempotency, rate limits."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.tasks.models import TaskInstance
from tests.bulk.conftest import Plant
from tests.fixtures.auth import Caller

URL = "/api/task-instances/bulk-status-update"


def test_atomic_with_one_bad_row_writes_nothing(
    client: TestClient, manager: Caller, plant: Plant
) -> None:
    ids = plant.ids(plant.a)
    before, history = plant.snapshot(), plant.history_count()
    first = ids[0]
    assert (
        client.patch(
            f"/api/task-instances/{first}",
            json={"status": "BLOCKED", "reason": "no steel"},
            headers=manager.headers,
        ).status_code
        == 200
    )
    before, history = plant.snapshot(), plant.history_count()
    response = client.post(
        URL, json={"ids": [*ids, 999_999], "status": "IN_PROGRESS"}, headers=manager.headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "BULK_REFUSED"
    # BLOCKED -> IN_PROGRESS is allowed; the missing id is what refuses the whole request.
    assert [(d["taskInstanceId"], d["code"]) for d in error["details"]] == [(999_999, "NOT_FOUND")]
    assert plant.snapshot() == before
    assert plant.history_count() == history
    waive = client.post(URL, json={"ids": ids, "status": "WAIVED"}, headers=manager.headers)
    assert waive.status_code == 422
    assert {d["code"] for d in waive.json()["error"]["details"]} == {"REASON_REQUIRED"}
    assert plant.snapshot() == before


def test_partial_applies_the_valid_ones_with_audit_rows(
    client: TestClient, manager: Caller, plant: Plant, session: Session
) -> None:
    ids = plant.ids(plant.a)
    client.patch(
        f"/api/task-instances/{ids[0]}", json={"status": "IN_PROGRESS"}, headers=manager.headers
    )
    response = client.post(
        URL,
        json={"ids": ids, "status": "IN_PROGRESS", "mode": "partial"},
        headers={**manager.headers, "X-Request-ID": "bulk-1"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["applied"], body["unchanged"], body["refused"]) == (5, 1, [])
    assert body["state"] == "APPLIED"
    rows = session.scalars(
        select(TaskInstanceHistory).where(
            TaskInstanceHistory.bulk_operation_id == body["bulkOperationId"]
        )
    ).all()
    assert sorted(r.task_instance_id for r in rows) == ids[1:]
    assert {(r.source, r.request_id, r.new_value) for r in rows} == {
        ("BULK", "bulk-1", "IN_PROGRESS")
    }
    operation = client.get(
        f"/api/bulk-operations/{body['bulkOperationId']}", headers=manager.headers
    ).json()
    assert (operation["changedInstances"], operation["changesByField"]) == (5, {"STATUS": 5})
    refused = client.post(
        URL,
        json={
            "filter": {"projectId": plant.project.id, "taskTemplateId": plant.b.id},
            "status": "SUBMITTED",
            "mode": "partial",
        },
        headers=manager.headers,
    ).json()
    assert refused["applied"] == 0
    assert {r["code"] for r in refused["refused"]} == {"INVALID_TRANSITION"}


def _to(client: TestClient, caller: Caller, ids: list[int], status: str, **extra: Any) -> dict:
    response = client.post(
        URL, json={"ids": ids, "status": status, **extra}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_gate_counts_prerequisites_approved_in_the_same_batch(
    client: TestClient, manager: Caller, plant: Plant
) -> None:
    a, b = plant.ids(plant.a), plant.ids(plant.b)
    _to(client, manager, a + b, "IN_PROGRESS")
    gated = client.post(URL, json={"ids": b, "status": "SUBMITTED"}, headers=manager.headers)
    assert {d["code"] for d in gated.json()["error"]["details"]} == {"PREREQUISITES_OPEN"}
    _to(client, manager, a, "SUBMITTED")
    # B waits on A; approving both at once is fine, submitting B alongside A is not.
    _to(client, manager, a, "APPROVED")
    _to(client, manager, b, "SUBMITTED")
    done = _to(client, manager, b, "APPROVED")
    assert done["applied"] == 6


def test_idempotency_key_replays_and_refuses_other_bodies(
    client: TestClient, manager: Caller, plant: Plant
) -> None:
    ids = plant.ids(plant.a)
    headers = {**manager.headers, "Idempotency-Key": "k-1"}
    first = client.post(URL, json={"ids": ids, "status": "IN_PROGRESS"}, headers=headers)
    assert first.status_code == 200
    snapshot, history = plant.snapshot(), plant.history_count()
    again = client.post(URL, json={"ids": ids, "status": "IN_PROGRESS"}, headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())
    assert (plant.snapshot(), plant.history_count()) == (snapshot, history)
    other = client.post(URL, json={"ids": ids, "status": "BLOCKED", "reason": "x"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert plant.snapshot() == snapshot


def test_rate_limit_answers_429_with_retry_after(tuned: Any, manager: Caller, plant: Plant) -> None:
    client = tuned(bulk_rate_limit="2/minute")
    ids = plant.ids(plant.a)
    for _ in range(2):
        assert (
            client.post(
                URL, json={"ids": ids, "status": "IN_PROGRESS"}, headers=manager.headers
            ).status_code
            == 200
        )
    limited = client.post(URL, json={"ids": ids, "status": "IN_PROGRESS"}, headers=manager.headers)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "RATE_LIMITED"


def test_over_the_threshold_it_runs_as_a_job(
    tuned: Any, manager: Caller, plant: Plant, session: Session
) -> None:
    client = tuned(bulk_job_threshold=2, bulk_chunk_size=100, queue_inline=True)
    ids = plant.ids(plant.a)
    response = client.post(URL, json={"ids": ids, "status": "IN_PROGRESS"}, headers=manager.headers)
    assert response.status_code == 202, response.text
    body = response.json()
    job = client.get(f"/api/jobs/{body['jobId']}", headers=manager.headers).json()
    assert (job["state"], job["total"], job["processed"], job["failed"]) == ("SUCCEEDED", 6, 6, 0)
    assert job["bulkOperationId"] == body["bulkOperationId"]
    statuses = set(session.scalars(select(TaskInstance.status).where(TaskInstance.id.in_(ids))))
    assert statuses == {"IN_PROGRESS"}
    operation = client.get(
        f"/api/bulk-operations/{body['bulkOperationId']}", headers=manager.headers
    ).json()
    assert operation["state"] == "APPLIED"
    assert operation["changesByField"] == {"STATUS": 6}
