"""The jobs table is the outbox: a committed job is answered 202 and runs once, Redis or not.

Redis here is only ever a server of the test's own (killed and restarted), a port where nothing
listens, or a port that accepts and never answers; the shared server is never touched.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy import func, select

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.queue import queue_at
from supplytrack.core.ratelimit import RateLimiter, Rule
from supplytrack.core.redis_client import redis_prefix
from supplytrack.core.settings import Settings
from supplytrack.jobs.models import Job
from supplytrack.jobs.worker import Sweeper
from supplytrack.main import create_app
from tests.bulk.helpers import many_instances, start_worker
from tests.core.helpers import committed_token, free_port
from tests.fixtures.client import from_this_host
from tests.fixtures.redis_server import OwnRedis

SHIFT = {"shiftDays": 3, "reasonCode": "PLAN_CHANGE"}


def _settings(database: Database, redis_url: str, **changes: Any) -> Settings:
    return database.settings.model_copy(
        update={
            "redis_url": redis_url,
            "bulk_job_threshold": 10,
            "bulk_chunk_size": 25,
            "queue_inline": False,
            "job_sweep_seconds": 0.2,
            **changes,
        }
    )


@pytest.fixture
def project(committed_database: Database) -> int:
    with committed_database.session_scope() as session:
        return many_instances(session, suppliers=30)  # 60 instances: a job of 3 chunks


@pytest.fixture
def client_on(committed_database: Database) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(redis_url: str, **changes: Any) -> TestClient:
        settings = _settings(committed_database, redis_url, **changes)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _jobs(database: Database) -> list[Job]:
    with database.session_scope(write=False) as session:
        jobs = list(session.scalars(select(Job).order_by(Job.id)))
        session.expunge_all()
        return jobs


def _moves_per_instance(database: Database) -> set[int]:
    with database.session_scope(write=False) as session:
        counts = session.execute(
            select(func.count())
            .select_from(TaskInstanceHistory)
            .where(TaskInstanceHistory.bulk_operation_id.is_not(None))
            .group_by(TaskInstanceHistory.task_instance_id)
        ).scalars()
        return set(counts)


@pytest.mark.parametrize("outage", ["refused", "silent"])
def test_a_job_committed_while_redis_is_down_is_202_once_and_runs_once(
    committed_database: Database,
    project: int,
    client_on: Callable[..., TestClient],
    silent_redis: str,
    outage: str,
) -> None:
    """No 500 after the commit; the retry with the key gets the first job; the sweep runs it."""
    url = silent_redis if outage == "silent" else f"redis://127.0.0.1:{free_port()}/0"
    client = client_on(url)
    headers = {
        "Authorization": f"Bearer {committed_token(committed_database)}",
        "Idempotency-Key": "shift-once",
    }
    path = f"/api/projects/{project}/bulk-update-dates"
    first = client.post(path, json=SHIFT, headers=headers)
    assert first.status_code == 202, first.text
    retry = client.post(path, json=SHIFT, headers=headers)
    assert retry.status_code == 202, retry.text
    assert retry.json()["jobId"] == first.json()["jobId"]
    jobs = _jobs(committed_database)
    assert [(job.id, job.state) for job in jobs] == [(first.json()["jobId"], "QUEUED")]

    sweeper = Sweeper(Database(_settings(committed_database, url)))
    assert sweeper.sweep(timedelta(0)) == [jobs[0].id]
    assert sweeper.sweep(timedelta(0)) == []  # finished: nothing left to run
    (job,) = _jobs(committed_database)
    assert (job.state, job.processed, job.failed) == ("SUCCEEDED", 60, 0)
    assert _moves_per_instance(committed_database) == {1}


def test_plain_requests_and_readiness_while_redis_is_silent(
    committed_database: Database,
    project: int,
    client_on: Callable[..., TestClient],
    silent_redis: str,
) -> None:
    """Reads, writes and bulk previews answer from the database; /readyz says degraded."""
    client = client_on(silent_redis)
    headers = {"Authorization": f"Bearer {committed_token(committed_database, Role.ADMIN)}"}
    listed = client.get(f"/api/task-instances?projectId={project}&limit=5", headers=headers)
    assert listed.status_code == 200, listed.text
    first = listed.json()["items"][0]
    patched = client.patch(
        f"/api/task-instances/{first['id']}",
        json={"notes": "Redis is down"},
        headers={**headers, "If-Match": listed.headers.get("etag") or f'"{first["version"]}"'},
    )
    assert patched.status_code == 200, patched.text
    preview = client.get(f"/api/projects/{project}/bulk-update-dates?shiftDays=1", headers=headers)
    assert preview.status_code == 200, preview.text
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"].startswith("unreachable")
    scraped = from_this_host(client).get("/metrics").text
    assert 'supplytrack_redis_fallbacks_total{use="ratelimit"}' in scraped


def _wait_for(database: Database, job_id: int, state: str, deadline: float = 60) -> Job:
    """Poll the job row until it reaches ``state`` (a condition with a generous deadline)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        job = next(job for job in _jobs(database) if job.id == job_id)
        if job.state == state:
            return job
        time.sleep(0.02)
    pytest.fail(f"job {job_id} not {state} within {deadline} s: {job.state}")


def test_a_worker_runs_jobs_through_a_redis_outage_and_after_it(
    committed_database: Database,
    project: int,
    client_on: Callable[..., TestClient],
    own_redis: OwnRedis,
) -> None:
    """Redis killed: the API still answers 202 and the worker's sweep runs the job; Redis
    back: jobs are woken through it again; every instance moved once per job."""
    env = {
        **os.environ,
        "DATABASE_URL": committed_database.url,
        "REDIS_URL": own_redis.url,
        "BULK_CHUNK_SIZE": "25",
        "JOB_SWEEP_SECONDS": "0.2",
        "LOG_LEVEL": "warning",
    }
    worker = start_worker(env)
    try:
        # Breaker off (no cool-down): the submission right after the restart tries Redis.
        client = client_on(own_redis.url, redis_retry_seconds=0)
        headers = {"Authorization": f"Bearer {committed_token(committed_database)}"}
        path = f"/api/projects/{project}/bulk-update-dates"
        before = client.post(path, json=SHIFT, headers=headers)
        assert before.status_code == 202, before.text
        _wait_for(committed_database, before.json()["jobId"], "SUCCEEDED")

        own_redis.stop()
        during = client.post(path, json=SHIFT, headers=headers)
        assert during.status_code == 202, during.text
        _wait_for(committed_database, during.json()["jobId"], "SUCCEEDED")

        own_redis.start()
        after = client.post(path, json=SHIFT, headers=headers)
        assert after.status_code == 202, after.text
        _wait_for(committed_database, after.json()["jobId"], "SUCCEEDED")
        # Its wake-up call went through the restarted server (a fresh one counts from zero).
        stats = redis.Redis.from_url(own_redis.url).info("commandstats")
        assert stats.get("cmdstat_lpush", {}).get("calls", 0) >= 1, stats
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert worker.returncode == 0
    assert _moves_per_instance(committed_database) == {3}  # three jobs, each moved each once


def test_deployments_sharing_a_redis_server_keep_their_own_keys(
    committed_database: Database, own_redis: OwnRedis
) -> None:
    """Queues and limits are named after the deployment's database (or REDIS_PREFIX)."""
    one = _settings(committed_database, own_redis.url)
    other = one.model_copy(update={"database_url": one.database_url + "-other"})
    named = one.model_copy(update={"redis_prefix": "staging"})
    assert redis_prefix(one) != redis_prefix(other)
    assert redis_prefix(named) == "staging"
    assert queue_at(one).name != queue_at(other).name
    assert redis_prefix(one) == redis_prefix(one.model_copy())  # stable

    for settings in (one, named):
        RateLimiter(settings).admit([Rule("token", parse("5/minute"), "token:1")])
    keys = {key.decode() for key in redis.Redis.from_url(own_redis.url).keys("*")}
    assert any(key.startswith(f"{redis_prefix(one)}_limits") for key in keys), keys
    assert any(key.startswith("staging_limits") for key in keys), keys
