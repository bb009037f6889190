"""Bounded database calls: a slow statement, and a database whose packets are dropped.

Every request answers within its budget (DATABASE_STATEMENT_TIMEOUT plus a second, plus the
time to get a connection) with 503 and Retry-After; nothing is retried past the budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import make_url

from supplytrack.core.db import Database, is_retryable, is_timeout
from supplytrack.projects.service import ProjectService
from tests.core.helpers import TcpProxy, app_client, committed_token
from tests.fixtures.database import DatabaseFactory, is_postgres, settings_for

pytestmark = pytest.mark.slow


def _slow_statement(dialect: str) -> str:
    if dialect == "postgresql":
        return "SELECT pg_sleep(30)"
    # An endless recursive count: SQLite spins on the CPU until it is interrupted.
    return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture
def bounded(database_factory: DatabaseFactory) -> Iterator[Database]:
    database = Database(
        settings_for(
            database_factory.fresh("timeouts"), redis_url=None, database_statement_timeout=300
        )
    )
    yield database
    database.dispose()


def test_a_statement_that_runs_too_long_is_ended_and_not_retried(bounded: Database) -> None:
    started = time.monotonic()
    with pytest.raises(exc.DBAPIError) as raised, bounded.session_scope() as session:
        session.execute(text(_slow_statement(bounded.engine.dialect.name)))
    elapsed = time.monotonic() - started
    assert is_timeout(raised.value)
    assert not is_retryable(raised.value)
    assert elapsed < 3, f"ended after {elapsed:.1f} s"
    with bounded.session_scope() as session:  # the pool still serves
        assert session.execute(text("SELECT 1")).scalar() == 1


def test_a_request_whose_query_runs_too_long_answers_503(
    bounded: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = committed_token(bounded)
    statement = _slow_statement(bounded.engine.dialect.name)

    def slow(self: ProjectService, **_kwargs: Any) -> Any:
        self.session.execute(text(statement))
        raise AssertionError("the slow statement returned")

    monkeypatch.setattr(ProjectService, "page", slow)
    with app_client(bounded.settings, database=bounded) as client:
        started = time.monotonic()
        answer = client.get("/api/projects?limit=2", headers={"Authorization": f"Bearer {token}"})
        elapsed = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "DATABASE_TIMEOUT"
    assert int(answer.headers["Retry-After"]) > 0
    assert elapsed < 3, f"answered after {elapsed:.1f} s"


@pytest.mark.skipif(not is_postgres(), reason="a network between the service and PostgreSQL")
def test_a_blackholed_database_answers_503_in_time_and_recovers(
    database_factory: DatabaseFactory,
) -> None:
    url = make_url(database_factory.fresh("blackhole"))
    setup = Database(settings_for(url.render_as_string(hide_password=False), redis_url=None))
    token = committed_token(setup)
    with setup.session_scope() as session:
        session.execute(
            text(
                "INSERT INTO projects (code, name, status, start_date, sop_date, created_at,"
                " updated_at, version) VALUES ('P-1', 'One', 'ACTIVE', '2026-01-01',"
                " '2027-01-01', now(), now(), 1)"
            )
        )
    setup.dispose()
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    settings = settings_for(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        redis_url=None,
        database_statement_timeout=1000,
        database_timeout=1000,
        cache_enabled=False,
    )
    headers = {"Authorization": f"Bearer {token}"}
    # statement + grace, one connection attempt (libpq waits 2 s at least), slack
    budget = 1.0 + 1.0 + 2.0 + 1.5
    try:
        with app_client(settings) as client:
            assert client.get("/api/projects", headers=headers).status_code == 200
            project = client.get("/api/projects", headers=headers).json()["items"][0]
            proxy.blackhole()
            for method, path, body in (
                ("GET", "/api/projects?limit=5", None),
                ("GET", "/api/task-instances?limit=5", None),  # the fast path
                ("PATCH", f"/api/projects/{project['id']}", {"name": "Renamed"}),
            ):
                started = time.monotonic()
                answer = client.request(method, path, json=body, headers=headers)
                elapsed = time.monotonic() - started
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"]["code"] in {
                    "DATABASE_TIMEOUT",
                    "DATABASE_UNAVAILABLE",
                }
                assert int(answer.headers["Retry-After"]) > 0
                assert elapsed < budget, f"{method} {path} took {elapsed:.1f} s"
            proxy.restore()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if client.get("/api/projects?limit=1", headers=headers).status_code == 200:
                    break
            assert client.get("/api/projects?limit=1", headers=headers).status_code == 200
    finally:
        proxy.stop()
