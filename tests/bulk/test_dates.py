"""Bulk date changes: preview writes nothing, apply matches it, undo reverts it whole."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the bulk job kinds
from supplytrack.jobs.runner import JobRunner
from supplytrack.tasks.models import TaskInstance
from tests.bulk.conftest import Plant
from tests.fixtures.auth import Caller
from tests.fixtures.database import TransactionalDatabase
from tests.fixtures.factories import days


def _url(plant: Plant) -> str:
    return f"/api/projects/{plant.project.id}/bulk-update-dates"


def test_preview_counts_samples_and_breaks_nothing(
    client: TestClient, manager: Caller, plant: Plant
) -> None:
    before, history = plant.snapshot(), plant.history_count()
    preview = client.get(
        f"{_url(plant)}?shiftDays=15&templateIds={plant.a.id}", headers=manager.headers
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["matched"], body["moves"], body["cascaded"]) == (6, 6, 0)
    assert {v["code"] for v in body["violations"]} == {"DEPENDENCY_ORDER"}
    cascading = client.get(
        f"{_url(plant)}?shiftDays=15&templateIds={plant.a.id}&cascade=true", headers=manager.headers
    ).json()
    assert (cascading["moves"], cascading["cascaded"], cascading["violations"]) == (12, 6, [])
    move = cascading["sample"][0]
    assert date.fromisoformat(move["to"]) - date.fromisoformat(move["from"]) == timedelta(days=15)
    past = client.get(f"{_url(plant)}?shiftDays=-20", headers=manager.headers).json()
    assert "DUE_DATE_IN_PAST" in {v["code"] for v in past["violations"]}
    assert (plant.snapshot(), plant.history_count()) == (before, history)


def test_apply_with_token_then_undo(
    client: TestClient, manager: Caller, plant: Plant, session: Session
) -> None:
    query = f"shiftDays=15&templateIds={plant.a.id}&cascade=true"
    token = client.get(f"{_url(plant)}?{query}", headers=manager.headers).json()["previewToken"]
    body: dict[str, Any] = {
        "shiftDays": 15,
        "templateIds": [plant.a.id],
        "cascade": True,
        "reasonCode": "CUSTOMER_CHANGE",
        "previewToken": token,
    }
    before = plant.snapshot()
    applied = client.post(_url(plant), json=body, headers=manager.headers)
    assert applied.status_code == 200, applied.text
    result = applied.json()
    assert (result["moves"], result["cascaded"], result["state"]) == (12, 6, "APPLIED")
    assert set(session.scalars(select(TaskInstance.actual_due))) == {days(25), days(35)}
    rows = session.scalars(
        select(TaskInstanceHistory).where(
            TaskInstanceHistory.bulk_operation_id == result["bulkOperationId"]
        )
    ).all()
    assert len(rows) == 12
    assert {(r.source, r.reason_code) for r in rows} == {
        ("BULK", "CUSTOMER_CHANGE"),
        ("CASCADE", "CUSTOMER_CHANGE"),
    }
    undone = client.post(
        f"/api/bulk-operations/{result['bulkOperationId']}/undo",
        json={"reason": "wrong project"},
        headers=manager.headers,
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["kind"] == "UNDO"
    assert undone.json()["changesByField"] == {"ACTUAL_DUE": 12}
    assert [(r[0], r[2]) for r in plant.snapshot()] == [(r[0], r[2]) for r in before]
    again = client.post(
        f"/api/bulk-operations/{result['bulkOperationId']}/undo", headers=manager.headers
    )
    assert again.json()["error"]["code"] == "NOT_UNDOABLE"


def test_stale_preview_is_409_and_undo_refuses_rows_changed_since(
    client: TestClient, manager: Caller, plant: Plant
) -> None:
    query = f"shiftDays=5&templateIds={plant.b.id}"
    token = client.get(f"{_url(plant)}?{query}", headers=manager.headers).json()["previewToken"]
    moved = plant.ids(plant.b)[0]
    client.patch(
        f"/api/task-instances/{moved}",
        json={"shiftDays": 2, "reasonCode": "SUPPLIER_REQUEST"},
        headers=manager.headers,
    )
    body = {"shiftDays": 5, "templateIds": [plant.b.id], "reasonCode": "PLAN_CHANGE"}
    before = plant.snapshot()
    stale = client.post(_url(plant), json={**body, "previewToken": token}, headers=manager.headers)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "PREVIEW_STALE"
    assert plant.snapshot() == before
    applied = client.post(_url(plant), json=body, headers=manager.headers).json()
    client.patch(
        f"/api/task-instances/{moved}", json={"notes": "unrelated"}, headers=manager.headers
    )
    undo_ok = client.post(
        f"/api/bulk-operations/{applied['bulkOperationId']}/undo", headers=manager.headers
    )
    assert undo_ok.status_code == 200  # a notes change does not touch what the bulk moved
    reapplied = client.post(_url(plant), json=body, headers=manager.headers).json()
    client.patch(
        f"/api/task-instances/{moved}",
        json={"shiftDays": 1, "reasonCode": "OTHER"},
        headers=manager.headers,
    )
    conflict = client.post(
        f"/api/bulk-operations/{reapplied['bulkOperationId']}/undo", headers=manager.headers
    )
    assert conflict.status_code == 409
    assert [d["taskInstanceId"] for d in conflict.json()["error"]["details"]] == [moved]


def test_dates_over_the_threshold_run_as_a_job_and_can_be_cancelled(
    tuned: Any, manager: Caller, plant: Plant
) -> None:
    client = tuned(bulk_job_threshold=3, bulk_chunk_size=100, queue_inline=True)
    body = {"shiftWorkingDays": 2, "reasonCode": "TOOLING_DELAY"}
    response = client.post(_url(plant), json=body, headers=manager.headers)
    assert response.status_code == 202, response.text
    job = client.get(f"/api/jobs/{response.json()['jobId']}", headers=manager.headers).json()
    assert (job["state"], job["processed"], job["total"]) == ("SUCCEEDED", 12, 12)
    assert all(row[2].weekday() < 5 for row in plant.snapshot())
    finished = client.delete(f"/api/jobs/{job['id']}", headers=manager.headers)
    assert finished.json()["error"]["code"] == "JOB_FINISHED"


def test_a_queued_change_says_queued_like_its_job_until_a_worker_runs_it(
    tuned: Any, manager: Caller, plant: Plant, database: TransactionalDatabase, tmp_path: Path
) -> None:
    client = tuned(bulk_job_threshold=3, queue_inline=False, queue_file=str(tmp_path / "queue.db"))
    body = {"shiftDays": 2, "reasonCode": "TOOLING_DELAY"}
    answer = client.post(_url(plant), json=body, headers=manager.headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "QUEUED"
    job_url = f"/api/jobs/{answer.json()['jobId']}"
    operation_url = f"/api/bulk-operations/{answer.json()['bulkOperationId']}"
    assert client.get(job_url, headers=manager.headers).json()["state"] == "QUEUED"
    assert client.get(operation_url, headers=manager.headers).json()["state"] == "QUEUED"
    assert JobRunner(database).run(answer.json()["jobId"]) == "SUCCEEDED"
    assert client.get(job_url, headers=manager.headers).json()["state"] == "SUCCEEDED"
    assert client.get(operation_url, headers=manager.headers).json()["state"] == "APPLIED"
