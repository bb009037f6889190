"""Every option of the bulk routes gives the same outcome inline and as a job.

A job's payload is the typed command serialised and parsed back on the worker; a dates job
with a due-date filter used to fail because its dates came back as strings. Each case runs
once in the request (a high threshold) and once as a job (QUEUE_INLINE, threshold 1), from
the same data (a savepoint rolled back in between), and the instances, their history and the
operation's end state must be the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.bulk.models import BulkOperation
from supplytrack.tasks.models import TaskInstance
from tests.bulk.conftest import Plant
from tests.fixtures.auth import Caller
from tests.fixtures.database import TransactionalDatabase
from tests.fixtures.factories import days

# Each case gets the plant's ids through a function: (A, B, supplier ids, instance ids).
Ids = tuple[int, int, list[int], list[int]]
DATE_CASES: dict[str, Callable[[Ids], dict[str, Any]]] = {
    "uniform shift": lambda i: {"shiftDays": 3},
    "uniform, some suppliers": lambda i: {"shiftDays": 3, "supplierIds": i[2][:3]},
    "working days": lambda i: {"shiftWorkingDays": 2},
    "one milestone, cascade": lambda i: {"shiftDays": 2, "templateIds": [i[0]], "cascade": True},
    "dependent milestone": lambda i: {"shiftDays": 2, "templateIds": [i[1]]},
    "new date, cascade": lambda i: {
        "newDate": days(14).isoformat(),
        "templateIds": [i[0]],
        "cascade": True,
    },
    "statuses": lambda i: {"shiftDays": 4, "statuses": ["IN_PROGRESS", "BLOCKED"]},
    "due range": lambda i: {
        "shiftDays": 4,
        "dueFrom": days(9).isoformat(),
        "dueTo": days(12).isoformat(),
    },
    "due from, cascade": lambda i: {
        "shiftDays": 4,
        "dueFrom": days(11).isoformat(),
        "cascade": True,
    },
    "due to, working days": lambda i: {"shiftWorkingDays": 1, "dueTo": days(12).isoformat()},
    "earlier": lambda i: {"shiftDays": -1, "templateIds": [i[1]]},
    "with reason": lambda i: {"shiftDays": 1, "reason": "supplier holiday"},
}
STATUS_CASES: dict[str, Callable[[Ids], dict[str, Any]]] = {
    "ids": lambda i: {"ids": i[3][:6], "status": "IN_PROGRESS", "mode": "partial"},
    "project": lambda i: {
        "filter": {"projectId": None},
        "status": "IN_PROGRESS",
        "mode": "partial",
    },
    "statuses": lambda i: {
        "filter": {"projectId": None, "status": ["NOT_STARTED"]},
        "status": "IN_PROGRESS",
    },
    "due range": lambda i: {
        "filter": {
            "projectId": None,
            "dueFrom": days(9).isoformat(),
            "dueTo": days(12).isoformat(),
        },
        "status": "BLOCKED",
        "reason": "waiting for steel",
        "mode": "partial",
    },
    "milestone": lambda i: {
        "filter": {"taskTemplateId": i[1]},
        "status": "WAIVED",
        "reason": "not needed",
    },
    "supplier": lambda i: {
        "filter": {"supplierId": i[2][0]},
        "status": "IN_PROGRESS",
        "mode": "partial",
    },
}


def _vary(plant: Plant) -> Ids:
    """Different statuses and dates per supplier, so that every filter picks a subset."""
    session = plant.session
    a_ids, b_ids = plant.ids(plant.a), plant.ids(plant.b)
    for offset, instance_id in enumerate(a_ids):
        values: dict[str, Any] = {"actual_due": days(8 + offset)}
        if offset % 3 == 1:
            values["status"] = "IN_PROGRESS"
        elif offset % 3 == 2:
            values["status"] = "BLOCKED"
        session.execute(update(TaskInstance).where(TaskInstance.id == instance_id).values(**values))
    session.flush()
    suppliers = sorted(
        session.scalars(
            select(TaskInstance.supplier_id).where(TaskInstance.id.in_(a_ids)).distinct()
        )
    )
    return plant.a.id, plant.b.id, suppliers, sorted(a_ids + b_ids)


def _outcome(plant: Plant, operation_id: int) -> tuple[Any, ...]:
    session = plant.session
    session.expire_all()
    instances = session.execute(
        select(
            TaskInstance.id,
            TaskInstance.status,
            TaskInstance.actual_due,
            TaskInstance.version,
            TaskInstance.submitted_at.is_(None),
            TaskInstance.completed_at.is_(None),
        ).order_by(TaskInstance.id)
    ).all()
    history = Counter(
        tuple(row)
        for row in session.execute(
            select(
                TaskInstanceHistory.task_instance_id,
                TaskInstanceHistory.field,
                TaskInstanceHistory.old_value,
                TaskInstanceHistory.new_value,
                TaskInstanceHistory.source,
                TaskInstanceHistory.reason,
                TaskInstanceHistory.reason_code,
            )
        )
    )
    state = session.scalar(select(BulkOperation.state).where(BulkOperation.id == operation_id))
    return [tuple(row) for row in instances], history, state


def _both_ways(
    tuned: Any,
    database: TransactionalDatabase,
    plant: Plant,
    send: Callable[[TestClient], Any],
) -> None:
    results = []
    for threshold, expected in ((1_000_000, 200), (1, 202)):
        savepoint = database.connection.begin_nested()
        try:
            client = tuned(bulk_job_threshold=threshold, bulk_chunk_size=2, queue_inline=True)
            response = send(client)
            assert response.status_code == expected, response.text
            results.append(_outcome(plant, response.json()["bulkOperationId"]))
        finally:
            savepoint.rollback()
    inline, job = results
    assert job == inline
    assert inline[1], "the case changed nothing: it proves nothing"


@pytest.mark.parametrize("case", DATE_CASES.values(), ids=DATE_CASES.keys())
def test_date_changes_inline_and_as_jobs_agree(
    tuned: Any,
    database: TransactionalDatabase,
    manager: Caller,
    plant: Plant,
    case: Callable[[Ids], dict[str, Any]],
) -> None:
    change = {**case(_vary(plant)), "reasonCode": "PLAN_CHANGE"}
    url = f"/api/projects/{plant.project.id}/bulk-update-dates"

    def send(client: TestClient) -> Any:
        preview = client.get(url, params=change, headers=manager.headers)
        assert preview.status_code == 200, preview.text
        assert preview.json()["violations"] == [], preview.json()
        return client.post(
            url,
            json={**change, "previewToken": preview.json()["previewToken"]},
            headers=manager.headers,
        )

    _both_ways(tuned, database, plant, send)


@pytest.mark.parametrize("case", STATUS_CASES.values(), ids=STATUS_CASES.keys())
def test_status_updates_inline_and_as_jobs_agree(
    tuned: Any,
    database: TransactionalDatabase,
    manager: Caller,
    plant: Plant,
    case: Callable[[Ids], dict[str, Any]],
) -> None:
    body = case(_vary(plant))
    if "filter" in body and "projectId" in body["filter"]:
        body["filter"]["projectId"] = plant.project.id

    def send(client: TestClient) -> Any:
        return client.post(
            "/api/task-instances/bulk-status-update", json=body, headers=manager.headers
        )

    _both_ways(tuned, database, plant, send)
