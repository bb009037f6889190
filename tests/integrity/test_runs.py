"""Data-check runs: started by the API, the CLI or the workers' clock; kept, shown, exported."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from supplytrack.cli import app as cli
from supplytrack.core.db import Database
from supplytrack.core.queue import queue_at
from supplytrack.core.settings import get_settings
from supplytrack.demo.generator import load_demo_data
from supplytrack.flows.checks import DATA_CHECK_JOB, start_scheduled
from supplytrack.integrity.checks import CHECKS
from supplytrack.jobs.worker import consumer_app
from tests.fixtures.auth import Caller
from tests.fixtures.client import from_this_host
from tests.fixtures.database import DatabaseFactory, settings_for


def test_an_admin_starts_a_run_and_reads_every_check_of_it(
    tuned: Callable[..., TestClient], admin: Caller, manager: Caller
) -> None:
    client = tuned(queue_inline=True)
    assert client.get("/api/data-checks/latest", headers=admin.headers).status_code == 404
    started = client.post("/api/data-checks", headers=admin.headers)
    assert started.status_code == 202, started.text
    run_id = started.json()["jobId"]
    assert started.headers["location"] == f"/api/data-checks/{run_id}"
    run = client.get(f"/api/data-checks/{run_id}", headers=admin.headers).json()
    assert (run["state"], run["source"], run["failures"]) == ("SUCCEEDED", "API", 0)
    assert [c["name"] for c in run["checks"]] == [check.name for check in CHECKS]
    assert client.get("/api/data-checks/latest", headers=admin.headers).json() == run
    job = client.get(f"/api/jobs/{run_id}", headers=admin.headers).json()
    assert job["kind"] == DATA_CHECK_JOB
    assert job["processed"] == job["total"] == len(CHECKS)
    assert client.post("/api/data-checks", headers=manager.headers).status_code == 403


def test_a_job_of_another_kind_is_no_data_check_run(
    tuned: Callable[..., TestClient], admin: Caller, session: Any
) -> None:
    client = tuned(queue_inline=True)
    session.execute(
        text(
            "INSERT INTO jobs (kind, state, total, processed, failed, payload, created_at,"
            " updated_at, version, cancel_requested) VALUES ('bulk-dates', 'QUEUED', 0, 0, 0,"
            " '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, false)"
        )
    )
    other = session.execute(text("SELECT max(id) FROM jobs")).scalar_one()
    answer = client.get(f"/api/data-checks/{other}", headers=admin.headers)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NOT_FOUND"


def test_a_failing_check_is_a_metric_per_check(
    tuned: Callable[..., TestClient], admin: Caller, session: Any
) -> None:
    client = tuned(queue_inline=True)
    session.execute(
        text(
            "INSERT INTO suppliers (code, name, status, created_at, updated_at, version)"
            " VALUES ('S-NOMAIL', 'No mail', 'ACTIVE', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00', 1)"
        )
    )
    before = from_this_host(client).get("/metrics").text
    assert "# TYPE supplytrack_data_check_failures gauge" in before
    assert "supplytrack_data_check_failures{" not in before  # no run yet
    assert "supplytrack_data_check_last_run_timestamp_seconds 0.0" in before
    assert client.post("/api/data-checks", headers=admin.headers).status_code == 202
    scraped = from_this_host(client).get("/metrics").text
    assert (
        'supplytrack_data_check_failures{check="suppliers_without_contact_email",kind="quality"}'
        " 1.0" in scraped
    )
    assert (
        'supplytrack_data_check_failures{check="status_matches_history",kind="consistency"} 0.0'
        in scraped
    )
    assert "supplytrack_data_check_run_succeeded 1.0" in scraped


@pytest.fixture
def committed(database_factory: DatabaseFactory) -> Any:
    database = Database(settings_for(database_factory.fresh("checks"), redis_url=None))
    yield database
    database.dispose()


def test_the_clock_starts_a_run_once_per_interval(committed: Database) -> None:
    first = start_scheduled(committed)
    assert first is not None
    assert start_scheduled(committed) is None  # one is under way: the next minute does nothing
    off = Database(committed.settings.model_copy(update={"data_check_interval_minutes": 0}))
    try:
        with committed.session_scope() as session:
            session.execute(text("UPDATE jobs SET created_at = '2020-01-01 00:00:00'"))
        assert start_scheduled(off) is None  # switched off
        second = start_scheduled(committed)  # the last run is older than the interval
        assert second is not None
        assert second != first
    finally:
        off.dispose()


def test_every_worker_has_the_clock(committed: Database, tmp_path: Any) -> None:
    settings = committed.settings.model_copy(update={"queue_file": str(tmp_path / "q.db")})
    huey, _ = consumer_app(queue_at(settings, consumer=True))
    assert "supplytrack.data_checks" in {task.name for task in huey._registry.periodic_tasks}


def test_the_cli_prints_the_run_and_fails_when_a_check_fails(
    committed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_demo_data(committed, "small", 2, date.today())
    monkeypatch.setenv("DATABASE_URL", committed.url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        sound = runner.invoke(cli, ["check"])
        assert sound.exit_code == 0, sound.output
        assert "SUCCEEDED: 0 rows fail consistency checks" in sound.output
        with committed.session_scope() as session:
            session.execute(
                text(
                    "UPDATE task_instances SET status = 'IN_PROGRESS' WHERE id = ("
                    "SELECT min(id) FROM task_instances WHERE status = 'NOT_STARTED')"
                )
            )
        broken = runner.invoke(cli, ["check", "--json"])
        assert broken.exit_code == 1, broken.output
        assert '"name": "status_matches_history"' in broken.output
        assert '"source": "CLI"' in broken.output
    finally:
        get_settings.cache_clear()
