"""A bulk shift racing single PATCHes loses no update and leaves a consistent history."""

import itertools
import random
import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.bulk.schemas import DateChange
from supplytrack.core.db import Database
from supplytrack.core.identity import Role, system_actor
from supplytrack.flows.base import Flow
from supplytrack.flows.bulk import BulkFlows
from supplytrack.jobs.runner import JobRunner
from supplytrack.main import create_app
from supplytrack.tasks.models import TaskInstance
from tests.bulk.helpers import many_instances, planned
from tests.fixtures.auth import make_caller

pytestmark = pytest.mark.slow
SHIFT = 3


def test_bulk_shift_and_single_patches_both_land(committed_database: Database) -> None:
    database = committed_database
    database.settings = database.settings.model_copy(update={"bulk_chunk_size": 20})
    with database.session_scope() as session:
        project_id = many_instances(session, suppliers=1000)
        manager = make_caller(session, Role.MANAGER)
    with database.session_scope() as session:
        expected = planned(session, project_id, SHIFT)
        flow = Flow(session, system_actor("test"), database.settings)
        job = BulkFlows(flow).queue_shift(
            [project_id],
            DateChange.model_validate({"shiftDays": SHIFT, "reasonCode": "PLAN_CHANGE"}),
        )
        job_id, operation_id = job.id, job.payload["bulkOperationId"]
    runner = threading.Thread(target=JobRunner(database).run, args=(job_id,))
    patched: Counter[int] = Counter()
    during_job = 0
    rng = random.Random(7)
    with TestClient(create_app(database.settings, database=database)) as client:
        runner.start()
        while runner.is_alive() or len(patched) < 20:
            instance_id = rng.choice(sorted(expected))
            response = client.patch(
                f"/api/task-instances/{instance_id}",
                json={"shiftDays": 1, "reasonCode": "SUPPLIER_REQUEST"},
                headers=manager.headers,
            )
            assert response.status_code in {200, 422}, response.text
            if response.status_code == 200:
                patched[instance_id] += 1
                during_job += runner.is_alive()
        runner.join()
    with database.session_scope(write=False) as session:
        actual = dict(
            session.execute(
                select(TaskInstance.id, TaskInstance.actual_due).where(
                    TaskInstance.project_id == project_id
                )
            ).all()
        )
        history = session.execute(
            select(
                TaskInstanceHistory.task_instance_id,
                TaskInstanceHistory.old_value,
                TaskInstanceHistory.new_value,
                TaskInstanceHistory.bulk_operation_id,
            )
            .where(TaskInstanceHistory.field == "ACTUAL_DUE")
            .order_by(TaskInstanceHistory.id)
        ).all()
    # No update lost: each instance moved by the bulk shift and by each accepted PATCH.
    for instance_id, due in actual.items():
        assert due == expected[instance_id] + timedelta(days=patched[instance_id])
    # History tells the same story: a continuous chain from the plan to today's value.
    chains: dict[int, list[tuple[str, str]]] = {}
    for instance_id, old, new, _ in history:
        chains.setdefault(instance_id, []).append((old, new))
    for instance_id, chain in chains.items():
        start = (expected[instance_id] - timedelta(days=SHIFT)).isoformat()
        assert chain[0][0] == start
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))
        assert date.fromisoformat(chain[-1][1]) == actual[instance_id]
    bulk_rows = Counter(i for i, _, _, op in history if op == operation_id)
    assert set(bulk_rows) == set(expected)
    assert set(bulk_rows.values()) == {1}
    assert sum(patched.values()) >= 20
    assert during_job >= 5  # the race really happened
