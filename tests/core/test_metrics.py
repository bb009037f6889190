"""/metrics: who may scrape it, and the figures of the pool, queries, jobs, limits and Redis."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from supplytrack.core.time import utcnow
from supplytrack.jobs.models import Job, JobState
from tests.fixtures.auth import Caller
from tests.fixtures.client import from_this_host

SECRET = "a-metrics-token-for-tests"


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{name}{labels} is not in /metrics"
    return float(found.group(1))


def test_metrics_answer_this_host_only_unless_a_metrics_token_is_set(
    client: TestClient, tuned: Callable[..., TestClient], manager: Caller
) -> None:
    # The test client's address is not loopback: as from another host.
    refused = client.get("/metrics", headers=manager.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "METRICS_LOOPBACK_ONLY"

    local = from_this_host(client).get("/metrics")
    assert local.status_code == 200
    assert local.headers["content-type"].startswith("text/plain")

    guarded = tuned(metrics_token=SECRET)
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers=manager.headers).status_code == 401
    wrong = guarded.get("/metrics", headers={"Authorization": f"Bearer {SECRET}x"})
    assert wrong.json()["error"]["code"] == "METRICS_TOKEN_NEEDED"
    assert guarded.get("/metrics", headers={"Authorization": f"Bearer {SECRET}"}).status_code == 200


def test_the_pool_queries_and_jobs_are_measured(
    tuned: Callable[..., TestClient], manager: Caller, session: Session
) -> None:
    old = utcnow() - timedelta(minutes=10)
    session.add_all(
        [
            Job(kind="bulk_shift", state=JobState.QUEUED, created_at=old, payload={}),
            Job(kind="bulk_shift", state=JobState.FAILED, payload={}),
            Job(kind="bulk_shift", state=JobState.RUNNING, heartbeat_at=old, payload={}),
        ]
    )
    session.commit()
    client = tuned(metrics_token=SECRET, slow_query_ms=1)
    scrape = {"Authorization": f"Bearer {SECRET}"}
    before = client.get("/metrics", headers=scrape).text
    assert client.get("/api/projects?limit=3", headers=manager.headers).status_code == 200
    text = client.get("/metrics", headers=scrape).text

    assert _value(text, "supplytrack_db_query_duration_seconds_count") > _value(
        before, "supplytrack_db_query_duration_seconds_count"
    )
    assert _value(text, "supplytrack_db_pool_wait_seconds_count") >= 0
    assert _value(text, "supplytrack_db_pool_size", '{pool="primary"}') >= 1
    assert _value(text, "supplytrack_db_pool_checked_out", '{pool="primary"}') >= 0
    assert "supplytrack_db_slow_queries_total" in text
    assert _value(text, "supplytrack_database_up") == 1
    assert _value(text, "supplytrack_jobs", '{state="QUEUED"}') >= 1
    assert _value(text, "supplytrack_jobs", '{state="FAILED"}') >= 1
    assert _value(text, "supplytrack_job_oldest_queued_seconds") >= 590
    assert _value(text, "supplytrack_jobs_stuck") >= 1
    for route in ("/api/projects", "/metrics"):
        assert f'route="{route}"' in text


def test_refusals_by_the_rate_limits_are_counted(
    tuned: Callable[..., TestClient], manager: Caller
) -> None:
    client = tuned(metrics_token=SECRET, rate_limit_default="2/minute")
    scrape = {"Authorization": f"Bearer {SECRET}"}
    statuses = [client.get("/api/suppliers", headers=manager.headers).status_code for _ in range(4)]
    assert statuses.count(429) >= 1
    text = client.get("/metrics", headers=scrape).text
    assert _value(text, "supplytrack_rate_limited_total", '{rule="token"}') >= statuses.count(429)
