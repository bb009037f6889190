"""A real worker process killed with SIGKILL mid-job resumes and applies each change once."""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.bulk.schemas import DateChange
from supplytrack.core.db import Database
from supplytrack.core.identity import system_actor
from supplytrack.flows.base import Flow
from supplytrack.flows.bulk import BulkFlows
from supplytrack.jobs.models import Job
from supplytrack.tasks.models import TaskInstance
from tests.bulk.helpers import many_instances, planned, start_worker

pytestmark = pytest.mark.slow
SHIFT = 7


def _job(database: Database, job_id: int) -> Job:
    with database.session_scope(write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _wait(database: Database, job_id: int, done: object, deadline: float = 90) -> Job:
    """Poll the job row (not a timing assumption: a condition with a generous deadline)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        job = _job(database, job_id)
        if done(job):  # type: ignore[operator]
            return job
        time.sleep(0.005)
    pytest.fail(f"job {job_id} did not get there in {deadline} s: {_job(database, job_id)}")


def _queue_shift(database: Database, project_id: int) -> tuple[int, int]:
    """Commit a job shifting the project by SHIFT days (no worker yet); (job id, operation id)."""
    with database.session_scope() as session:
        flow = Flow(session, system_actor("test"), database.settings)
        job = BulkFlows(flow).queue_shift(
            [project_id],
            DateChange.model_validate({"shiftDays": SHIFT, "reasonCode": "PLAN_CHANGE"}),
        )
        return job.id, int(job.payload["bulkOperationId"])


@pytest.fixture
def worker_env(committed_database: Database, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "DATABASE_URL": committed_database.url,
        "BULK_CHUNK_SIZE": "20",
        "LOG_LEVEL": "warning",
        "QUEUE_FILE": str(tmp_path / "queue.db"),
    }
    redis_url = os.environ.get("TEST_REDIS_URL")
    env.pop("REDIS_URL", None)
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env["REDIS_URL"] = redis_url
    return env


def test_sigkilled_worker_resumes_without_applying_anything_twice(
    committed_database: Database, worker_env: dict[str, str]
) -> None:
    with committed_database.session_scope() as session:
        project_id = many_instances(session, suppliers=1500)
    with committed_database.session_scope() as session:
        expected = planned(session, project_id, SHIFT)
    job_id, operation_id = _queue_shift(committed_database, project_id)
    worker = start_worker(worker_env)
    try:
        # 150 chunks of 20: the kill lands long before the last one.
        _wait(committed_database, job_id, lambda j: j.processed > 0)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed = _job(committed_database, job_id)
    assert killed.state == "RUNNING"
    assert 0 < killed.processed < killed.total == len(expected)
    restarted = start_worker(worker_env)
    try:
        finished = _wait(committed_database, job_id, lambda j: j.state != "RUNNING")
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
    assert (finished.state, finished.processed, finished.failed) == ("SUCCEEDED", len(expected), 0)
    with committed_database.session_scope(write=False) as session:
        actual = dict(
            session.execute(
                select(TaskInstance.id, TaskInstance.actual_due).where(
                    TaskInstance.project_id == project_id
                )
            ).all()
        )
        per_instance = session.execute(
            select(TaskInstanceHistory.task_instance_id, func.count())
            .where(TaskInstanceHistory.bulk_operation_id == operation_id)
            .group_by(TaskInstanceHistory.task_instance_id)
        ).all()
    assert actual == expected
    assert len(per_instance) == len(expected)
    assert {count for _, count in per_instance} == {1}


def test_sigterm_lets_the_worker_finish_its_chunk_and_exit_0(
    committed_database: Database, worker_env: dict[str, str]
) -> None:
    """Stopped mid-job, the worker ends on a chunk boundary: what it counted is what it wrote."""
    with committed_database.session_scope() as session:
        project_id = many_instances(session, suppliers=1500)
    job_id, operation_id = _queue_shift(committed_database, project_id)
    worker = start_worker(worker_env)
    try:
        _wait(committed_database, job_id, lambda j: j.processed > 0)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    stopped = _job(committed_database, job_id)
    assert stopped.state == "RUNNING"
    assert 0 < stopped.processed < stopped.total
    assert stopped.processed % 20 == 0  # whole chunks of BULK_CHUNK_SIZE, none half done
    with committed_database.session_scope(write=False) as session:
        written = session.scalar(
            select(func.count())
            .select_from(TaskInstanceHistory)
            .where(TaskInstanceHistory.bulk_operation_id == operation_id)
        )
    assert written == stopped.processed
