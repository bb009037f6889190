"""The database layer: SQLite pragmas and write locks, URL spellings, retry, 503, readiness."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import redis
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from supplytrack.core.db import Database, is_retryable
from supplytrack.core.handlers import install_error_handlers
from supplytrack.core.middleware import RequestMiddleware
from supplytrack.core.routing import UnitOfWork, UnitOfWorkRoute, get_session
from supplytrack.core.settings import Settings, normalise_database_url
from supplytrack.projects.models import Project, ProjectStatus
from tests.core.helpers import TcpProxy, app_client, committed_token, free_port
from tests.fixtures.database import IN_CI, DatabaseFactory, is_postgres, settings_for

only_sqlite = pytest.mark.skipif(is_postgres(), reason="SQLite connection behaviour")
only_postgres = pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL")


# --- connection set-up ---------------------------------------------------------------------


@pytest.fixture
def timed_database(database_factory: DatabaseFactory) -> Iterator[Database]:
    """A fresh database whose DATABASE_TIMEOUT is an unusual value (1234 ms)."""
    database = Database(settings_for(database_factory.fresh("pragmas"), database_timeout=1234))
    yield database
    database.dispose()


@only_sqlite
def test_sqlite_pragmas_on_every_connection(timed_database: Database) -> None:
    # Two connections at once: the pool cannot hand out the same one twice.
    with timed_database.engine.connect() as first, timed_database.engine.connect() as second:
        for connection in (first, second):
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234


@only_sqlite
def test_sqlite_foreign_keys_are_enforced(timed_database: Database) -> None:
    with timed_database.session(write=True) as session, pytest.raises(exc.IntegrityError):
        session.execute(
            text(
                "INSERT INTO supplier_projects (supplier_id, project_id, status, assigned_at, "
                "version, created_at, updated_at) VALUES (999, 999, 'ACTIVE', :t, 1, :t, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )


@only_postgres
def test_postgres_session_settings_follow_database_timeout(timed_database: Database) -> None:
    with timed_database.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1234ms"
        assert connection.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
    assert timed_database.engine.pool.timeout() == pytest.approx(1.234)  # type: ignore[attr-defined]


@only_sqlite
def test_sqlite_write_sessions_take_the_write_lock_at_begin(
    database_factory: DatabaseFactory,
) -> None:
    """BEGIN IMMEDIATE: a second writer is refused at its first statement, even a SELECT."""
    database = Database(settings_for(database_factory.fresh("immediate"), database_timeout=1))
    holder = database.session(write=True)
    waiting = database.session(write=True)
    reader = database.session(write=False)
    try:
        holder.execute(text("SELECT 1"))  # takes the write lock, writes nothing yet
        with pytest.raises(exc.OperationalError) as refused:
            waiting.execute(text("SELECT 1"))
        assert "locked" in str(refused.value.orig)
        assert is_retryable(refused.value)
        waiting.rollback()
        # Readers are not blocked by a writer under WAL.
        assert reader.execute(select(func.count()).select_from(Project)).scalar_one() == 0
        reader.rollback()
        holder.rollback()
        waiting.execute(text("SELECT 1"))  # the lock is free again
        waiting.rollback()
    finally:
        for session in (holder, waiting, reader):
            session.close()
        database.dispose()


@only_sqlite
def test_sqlite_read_sessions_do_not_take_the_write_lock(
    database_factory: DatabaseFactory,
) -> None:
    database = Database(settings_for(database_factory.fresh("deferred"), database_timeout=1))
    try:
        with database.session(write=False) as first, database.session(write=False) as second:
            first.execute(text("SELECT 1"))
            second.execute(text("SELECT 1"))
            with database.session(write=True) as writer:
                writer.execute(text("SELECT 1"))
                writer.rollback()
    finally:
        database.dispose()


# --- URL spellings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "backend", "driver", "database"),
    [
        ("file:./dev.db", "sqlite", "pysqlite", "./dev.db"),
        ("file:dev.db", "sqlite", "pysqlite", "dev.db"),
        ("file:/var/lib/st/dev.db", "sqlite", "pysqlite", "/var/lib/st/dev.db"),
        ("  file:./dev.db\n", "sqlite", "pysqlite", "./dev.db"),
        ("sqlite:///./x.db", "sqlite", "pysqlite", "./x.db"),
        ("postgres://u:pw@db.example:5433/st", "postgresql", "psycopg", "st"),
        ("postgresql://u:pw@db.example:5433/st", "postgresql", "psycopg", "st"),
        ("postgresql+psycopg://u@db.example/st", "postgresql", "psycopg", "st"),
    ],
)
def test_normalise_database_url(given: str, backend: str, driver: str, database: str) -> None:
    url = make_url(normalise_database_url(given))
    assert url.get_backend_name() == backend
    assert url.get_driver_name() == driver
    assert url.database == database
    if backend == "postgresql":
        assert url.username == "u"
        assert url.host == "db.example"


def test_normalise_keeps_postgres_credentials_and_query() -> None:
    normalised = normalise_database_url("postgres://u:p%40ss@h:6543/st?sslmode=require")
    assert normalised == "postgresql+psycopg://u:p%40ss@h:6543/st?sslmode=require"


def test_database_url_from_the_environment_is_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/st")
    assert Settings().database_url == "postgresql+psycopg://u@h/st"
    monkeypatch.setenv("DATABASE_URL", "file:./dev.db")
    assert Settings().is_sqlite


def test_prisma_file_url_opens_a_working_database(tmp_path: Path) -> None:
    target = tmp_path / "prisma.db"
    database = Database(Settings(database_url=f"file:{target}"))
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT 41 + 1")).scalar() == 42
    finally:
        database.dispose()
    assert target.exists()


# --- the route's retry of transient failures -------------------------------------------------


class _Orig(Exception):
    """A driver error with a SQLSTATE, as psycopg raises them."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _serialization_failure() -> exc.DBAPIError:
    return exc.OperationalError("UPDATE x", {}, _Orig("could not serialize access", "40001"))


def _deadlock() -> exc.DBAPIError:
    return exc.OperationalError("UPDATE x", {}, _Orig("deadlock detected", "40P01"))


def _sqlite_busy() -> exc.DBAPIError:
    return exc.OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))


def _lost_connection() -> exc.DBAPIError:
    return exc.DBAPIError(
        "SELECT 1", {}, _Orig("server closed the connection", None), connection_invalidated=True
    )


TRANSIENT = [_serialization_failure, _deadlock, _sqlite_busy, _lost_connection]


def _unique_violation() -> exc.DBAPIError:
    return exc.IntegrityError("INSERT x", {}, _Orig("duplicate key", "23505"))


def _undefined_table() -> exc.DBAPIError:
    return exc.ProgrammingError("SELECT x", {}, _Orig("relation does not exist", "42P01"))


class Probe:
    """A tiny app on the real route class whose endpoint fails as told."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.calls = 0
        self.failures: list[exc.DBAPIError] = []
        router = APIRouter(route_class=UnitOfWorkRoute)

        @router.post("/projects/{code}")
        def create(code: str, session: Annotated[Session, Depends(get_session)]) -> dict[str, Any]:
            self.calls += 1
            session.add(Project(code=code, name=code, status=ProjectStatus.ACTIVE))
            session.flush()
            if self.failures:
                raise self.failures.pop(0)
            return {"attempts": self.calls}

        app = FastAPI()
        app.state.database = database
        app.state.settings = database.settings
        install_error_handlers(app)
        app.include_router(router)
        app.add_middleware(RequestMiddleware, max_body_bytes=database.settings.max_body_bytes)
        self.client = TestClient(app, raise_server_exceptions=False)

    def committed(self, code: str) -> int:
        """How many projects with ``code`` were really committed."""
        with self.database.session(write=False) as session:
            stmt = select(func.count()).select_from(Project).where(Project.code == code)
            return int(session.execute(stmt).scalar_one())


@pytest.fixture
def probe(database_factory: DatabaseFactory) -> Iterator[Probe]:
    """The probe app on a fresh database with two retries."""
    database = Database(settings_for(database_factory.fresh("retry"), database_retries=2))
    yield Probe(database)
    database.dispose()


@pytest.mark.parametrize("failure", TRANSIENT, ids=lambda f: f.__name__.strip("_"))
def test_transient_failure_before_commit_is_retried_once(probe: Probe, failure: Any) -> None:
    assert is_retryable(failure())
    probe.failures = [failure()]
    response = probe.client.post("/projects/RETRY-1")
    assert response.status_code == 200, response.text
    assert response.json() == {"attempts": 2}
    assert probe.calls == 2
    assert probe.committed("RETRY-1") == 1  # the first attempt's insert was rolled back


def test_retries_are_bounded(probe: Probe) -> None:
    probe.failures = [_serialization_failure() for _ in range(10)]
    response = probe.client.post("/projects/RETRY-2")
    assert probe.calls == 1 + probe.database.settings.database_retries
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONCURRENT_UPDATE"
    assert probe.committed("RETRY-2") == 0


def test_unavailable_after_the_retries_answers_503(probe: Probe) -> None:
    probe.failures = [_lost_connection() for _ in range(10)]
    response = probe.client.post("/projects/RETRY-3")
    assert probe.calls == 1 + probe.database.settings.database_retries
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert response.headers["Retry-After"]


@pytest.mark.parametrize(("failure", "status"), [(_unique_violation, 409), (_undefined_table, 500)])
def test_non_transient_failure_is_not_retried(probe: Probe, failure: Any, status: int) -> None:
    assert not is_retryable(failure())
    probe.failures = [failure()]
    response = probe.client.post("/projects/ONCE")
    assert probe.calls == 1
    assert response.status_code == status
    assert probe.committed("ONCE") == 0


def test_failed_commit_is_not_retried_and_never_answers_2xx(
    probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_commit(_self: UnitOfWork) -> None:
        raise _serialization_failure()

    monkeypatch.setattr(UnitOfWork, "commit", failing_commit)
    response = probe.client.post("/projects/COMMIT-FAILS")
    assert probe.calls == 1
    assert response.status_code >= 400
    assert "error" in response.json()
    monkeypatch.undo()
    assert probe.committed("COMMIT-FAILS") == 0


# --- 503 when PostgreSQL goes away, and recovery -----------------------------------------------


@only_postgres
def test_database_outage_answers_503_and_recovers(committed_database: Database) -> None:
    token = committed_token(committed_database)
    target = make_url(committed_database.url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    through_proxy = target.set(host="127.0.0.1", port=proxy.port)
    settings = settings_for(
        through_proxy.render_as_string(hide_password=False), database_timeout=1000, redis_url=None
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with app_client(settings) as client:
            assert client.get("/api/projects", headers=headers).status_code == 200

            proxy.stop()
            started = time.monotonic()
            # Another page (the first one is cached, and the cache may answer it meanwhile).
            down = client.get("/api/projects?limit=3", headers=headers)
            elapsed = time.monotonic() - started
            assert down.status_code == 503, down.text
            error = down.json()["error"]
            assert error["code"] == "DATABASE_UNAVAILABLE"
            assert error["requestId"] == down.headers["X-Request-ID"]
            assert set(error) == {"code", "message", "details", "requestId"}
            assert int(down.headers["Retry-After"]) > 0
            assert elapsed < 10, f"the 503 took {elapsed:.1f}s"

            proxy.start()
            for _ in range(3):
                assert client.get("/api/projects", headers=headers).status_code == 200
    finally:
        proxy.stop()


@only_postgres
def test_connections_cut_under_a_live_server_are_replaced(committed_database: Database) -> None:
    """pool_pre_ping: a pooled connection killed meanwhile is not handed to a request."""
    token = committed_token(committed_database)
    target = make_url(committed_database.url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    settings = settings_for(
        target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        database_retries=0,
        redis_url=None,
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with app_client(settings) as client:
            assert client.get("/api/projects", headers=headers).status_code == 200
            proxy.stop()  # kills the pooled connection ...
            proxy.start()  # ... and the server is back before the next request
            assert client.get("/api/projects", headers=headers).status_code == 200
    finally:
        proxy.stop()


@only_sqlite
def test_sqlite_write_lock_held_elsewhere_answers_503_then_recovers(
    database_factory: DatabaseFactory,
) -> None:
    """A writer that cannot get the lock within DATABASE_TIMEOUT is told to retry (503)."""
    url = database_factory.fresh("busy")
    settings = settings_for(url, database_timeout=20, database_retries=1, redis_url=None)
    holder_db = Database(settings)
    token = committed_token(holder_db)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"code": "BUSY-1", "name": "busy"}
    try:
        with app_client(settings) as client:
            holder = holder_db.session(write=True)
            holder.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is ours
            busy = client.post("/api/projects", json=body, headers=headers)
            assert busy.status_code == 503, busy.text
            assert busy.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
            assert busy.headers["Retry-After"]
            # Reads go on meanwhile (WAL).
            assert client.get("/api/projects", headers=headers).status_code == 200
            holder.rollback()
            holder.close()
            created = client.post("/api/projects", json=body, headers=headers)
            assert created.status_code == 201, created.text
    finally:
        holder_db.dispose()


def test_exhausted_pool_answers_503(database_factory: DatabaseFactory) -> None:
    """Every pooled connection busy for longer than DATABASE_TIMEOUT: 503, not a hang."""
    url = database_factory.fresh("pool")
    settings = settings_for(
        url, database_connection_limit=1, database_timeout=50, database_retries=1, redis_url=None
    )
    database = Database(settings)
    token = committed_token(database)
    headers = {"Authorization": f"Bearer {token}"}
    held = []
    try:
        with app_client(settings, database=database) as client:
            # pool_size 1 + overflow 1: hold both.
            held = [database.engine.connect() for _ in range(2)]
            started = time.monotonic()
            response = client.get("/api/projects", headers=headers)
            assert time.monotonic() - started < 10
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
            for connection in held:
                connection.close()
            held = []
            assert client.get("/api/projects", headers=headers).status_code == 200
    finally:
        for connection in held:
            connection.close()
        database.dispose()


# --- /readyz ------------------------------------------------------------------------------


def _unreachable_url(tmp_path: Path) -> str:
    if is_postgres():
        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    return f"sqlite+pysqlite:///{tmp_path}/no/such/directory/x.db"


def _readyz(settings: Settings) -> tuple[int, dict[str, Any], dict[str, str]]:
    with app_client(settings) as client:
        response = client.get("/readyz")
    return response.status_code, response.json(), dict(response.headers)


def test_readyz_ok_on_a_migrated_database(database_factory: DatabaseFactory) -> None:
    status, body, _ = _readyz(settings_for(database_factory.fresh("ready"), redis_url=None))
    assert status == 200
    assert body == {"status": "ready", "checks": {"database": "ok", "schema": "ok"}}


def test_readyz_503_when_schema_is_not_at_head(database_factory: DatabaseFactory) -> None:
    status, body, headers = _readyz(settings_for(database_factory.empty(), redis_url=None))
    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["schema"] != "ok"
    assert "retry-after" in headers


def test_readyz_503_when_database_is_unreachable(tmp_path: Path) -> None:
    settings = settings_for(_unreachable_url(tmp_path), redis_url=None, database_timeout=1000)
    started = time.monotonic()
    status, body, headers = _readyz(settings)
    assert time.monotonic() - started < 10
    assert status == 503
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["schema"] != "ok"
    assert "retry-after" in headers


def test_readyz_degraded_when_redis_is_unreachable(database_factory: DatabaseFactory) -> None:
    """The service works without Redis, so it stays ready; the body says Redis is down."""
    settings = settings_for(
        database_factory.fresh("ready"), redis_url=f"redis://127.0.0.1:{free_port()}/15"
    )
    status, body, _ = _readyz(settings)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["schema"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")


@pytest.mark.redis
def test_readyz_ok_with_redis(database_factory: DatabaseFactory, redis_url: str) -> None:
    status, body, _ = _readyz(settings_for(database_factory.fresh("ready"), redis_url=redis_url))
    assert status == 200, body
    assert body["checks"] == {"database": "ok", "schema": "ok", "redis": "ok"}


@pytest.fixture
def redis_url() -> str:
    """The test Redis (TEST_REDIS_URL, else the local server's db 15).

    Skipped when it is down, except in CI (CI=true), where that fails the run.
    """
    url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as error:
        if IN_CI:
            raise
        pytest.skip(f"Redis not reachable at {url}: {error}")
    return url


def test_the_bare_readers_statements_reach_listeners_as_any_statement_does(
    database_factory: DatabaseFactory,
) -> None:
    """Listeners see a Connection-like object: .connection is the pool's, .info is there."""
    from sqlalchemy import event

    database = Database(settings_for(database_factory.fresh("observed")))
    seen: list[tuple[Any, str]] = []

    def listener(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((conn.connection.dbapi_connection, statement))
        conn.info.setdefault("seen", 0)

    event.listen(database.engine, "before_cursor_execute", listener)
    try:
        cursor = database.raw_reader.cursor()
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
        cursor.close()
        assert len(seen) == 1
        assert seen[0][0] is not None
        assert seen[0][1] == "SELECT 1"
    finally:
        event.remove(database.engine, "before_cursor_execute", listener)
        database.raw_reader.close()
        database.dispose()
