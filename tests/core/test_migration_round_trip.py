"""Every revision goes down one step and up again on populated data, leaving it as it was.

The database holds the `small` demo set and then what the demo set does not make: a calendar
with holidays, a template move (audit log), a bulk shift with an idempotency key (history rows
with reason codes and a bulk operation), its undo, and a bulk shift queued as a job. At each
revision the schema and every table's rows (count and checksum) are taken, the revision is
downgraded and upgraded again, and both must be identical. Below the first revision nothing
can be kept: that downgrade asks for --yes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.sql import ClauseElement
from typer.testing import CliRunner

from supplytrack.auth.service import USAGE, TokenService
from supplytrack.cli import app as cli
from supplytrack.core.backup import table_checksums
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.migrate import (
    current_revision,
    data_lost_by,
    downgrade,
    head_revision,
    steps_down,
    upgrade,
)
from supplytrack.core.settings import get_settings
from supplytrack.core.stash import PREFIX
from supplytrack.demo.generator import load_demo_data
from supplytrack.main import create_app
from tests.fixtures.database import DatabaseFactory, is_postgres, settings_for

pytestmark = pytest.mark.slow

LOSSLESS = {"0004", "0006", "0007", "0010"}


def _populate(url: str) -> None:
    settings = settings_for(url, redis_url=None, bulk_job_threshold=50)
    database = Database(settings)
    try:
        load_demo_data(database, "small", 7, date.today())
        with database.session_scope() as session:
            _, token = TokenService(session).create("round-trip", Role.ADMIN, None)
            spare, _ = TokenService(session).create("to-rotate", Role.VIEWER, None)
            spare_id = spare.id
        headers = {"Authorization": f"Bearer {token}"}
        USAGE.forget()  # this process may have seen a token with the same id in another test
        with TestClient(create_app(settings, database)) as client:
            project = client.get("/api/projects", headers=headers).json()["items"][0]["id"]
            calendar = client.put(
                f"/api/projects/{project}/calendar",
                headers=headers,
                json={
                    "workingWeekdays": ["MON", "TUE", "WED", "THU", "FRI"],
                    "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
                    "reason": "plant shutdown",
                },
            )
            assert calendar.status_code == 200, calendar.text
            templates = client.get(
                f"/api/projects/{project}/task-templates", headers=headers
            ).json()["items"]
            template = templates[-1]
            moved = client.patch(
                f"/api/task-templates/{template['id']}",
                headers={**headers, "If-Match": f'"{template["version"]}"'},
                json={"shiftDays": 3, "reasonCode": "CUSTOMER_CHANGE", "reason": "SOP moved"},
            )
            assert moved.status_code == 200, moved.text
            shift = {"shiftDays": 2, "reasonCode": "TOOLING_DELAY", "reason": "press down"}
            applied = client.post(
                f"/api/projects/{project}/bulk-update-dates",
                headers={**headers, "Idempotency-Key": "round-trip-1"},
                json={**shift, "templateIds": [template["id"]]},
            )
            assert applied.status_code == 200, applied.text
            assert applied.json()["moves"] > 0, applied.text
            undone = client.post(
                f"/api/bulk-operations/{applied.json()['bulkOperationId']}/undo", headers=headers
            )
            assert undone.status_code == 200, undone.text
            rotated = client.post(
                f"/api/tokens/{spare_id}/rotate", headers=headers, json={"graceMinutes": 5}
            )
            assert rotated.status_code == 201, rotated.text
            queued = client.post(
                f"/api/projects/{project}/bulk-update-dates",
                headers=headers,
                json={**shift, "dueFrom": date.today().isoformat()},
            )
            assert queued.status_code == 202, queued.text
    finally:
        database.dispose()


def _plain(value: Any) -> Any:
    """Reflected values as comparable plain data (a partial index's WHERE is an object)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, ClauseElement):
        return str(value)
    return value


def _sorted(items: list[Any]) -> list[Any]:
    return sorted((_plain(item) for item in items), key=repr)


def _schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    tables: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        tables[name] = {
            "columns": [
                (column["name"], str(column["type"]), column["nullable"], column.get("default"))
                for column in inspector.get_columns(name)
            ],
            "primary key": _plain(inspector.get_pk_constraint(name)),
            "foreign keys": _sorted(inspector.get_foreign_keys(name)),
            "indexes": _sorted(inspector.get_indexes(name)),
            "unique": _sorted(inspector.get_unique_constraints(name)),
            "checks": _sorted(inspector.get_check_constraints(name)),
        }
    if connection.dialect.name == "sqlite":
        query = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = (
            "SELECT tgname, tgrelid::regclass::text, tgenabled FROM pg_trigger"
            " WHERE NOT tgisinternal"
        )
    tables["(triggers)"] = sorted(tuple(row) for row in connection.execute(text(query)))
    if connection.dialect.name == "postgresql":  # row-level security: on, forced, policies
        tables["(row security)"] = sorted(
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
                    " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
                )
            )
        )
        tables["(policies)"] = sorted(
            tuple(row)
            for row in connection.execute(
                text("SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies")
            )
        )
    return tables


def _state(url: str) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return current_revision(connection), _schema(connection), table_checksums(connection)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def populated(database_factory: DatabaseFactory) -> str:
    url = database_factory.fresh("round-trip")
    _populate(url)
    return url


def test_the_data_fills_what_the_revisions_add(populated: str) -> None:
    """Otherwise the walk below would prove nothing about those tables and columns."""
    _, _, tables = _state(populated)
    for table in (
        "project_calendars",
        "project_holidays",
        "audit_log",
        "bulk_operations",
        "idempotency_keys",
        "jobs",
        "api_token_usage",
    ):
        assert tables[table]["rows"] > 0, table
    engine = create_engine(populated)
    with engine.connect() as connection:
        filled = connection.execute(
            text(
                "SELECT count(reason_code), count(change_id), count(bulk_operation_id)"
                " FROM task_instance_history"
            )
        ).one()
        queued = connection.execute(
            text("SELECT count(*) FROM bulk_operations WHERE state = 'QUEUED'")
        ).scalar_one()
    engine.dispose()
    assert min(filled) > 0, filled
    assert queued == 1


def test_every_revision_goes_down_and_up_again_leaving_schema_and_data_identical(
    populated: str,
) -> None:
    revision, schema, rows = _state(populated)
    assert revision == head_revision()
    walked = []
    while revision != "0001":
        downgrade("-1", url=populated)
        below, _, parked = _state(populated)
        # Index and generated-column revisions drop nothing that could not be derived again.
        assert any(name.startswith(PREFIX) for name in parked) or revision in LOSSLESS
        upgrade("+1", url=populated)
        again, schema_again, rows_again = _state(populated)
        assert again == revision
        assert schema_again == schema, f"{revision}: the schema differs after down and up"
        assert rows_again == rows, f"{revision}: the data differs after down and up"
        walked.append(revision)
        downgrade("-1", url=populated)
        revision, schema, rows = _state(populated)
        assert revision == below
    assert walked == [
        "0013",
        "0012",
        "0011",
        "0010",
        "0009",
        "0008",
        "0007",
        "0006",
        "0005",
        "0004",
        "0003",
        "0002",
    ]
    upgrade("head", url=populated)
    assert _state(populated)[0] == head_revision()


def test_only_the_first_revision_loses_data_and_asks_first(
    populated: str, database_factory: DatabaseFactory
) -> None:
    engine = create_engine(populated)
    try:
        with engine.connect() as connection:
            assert [step.revision for step in steps_down(connection, "-2")] == ["0013", "0012"]
            assert data_lost_by(connection, "0001") is None
            lost = data_lost_by(connection, "base")
            assert lost is not None
            assert lost.revisions == ["0001"]
            assert "task_instances" in lost.tables
    finally:
        engine.dispose()
    empty = database_factory.fresh("empty-base")
    with create_engine(empty).connect() as connection:
        assert data_lost_by(connection, "base") is None  # nothing there to lose


def test_the_cli_refuses_a_downgrade_that_drops_rows_without_yes(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = database_factory.fresh("yes")
    database = Database(settings_for(url, redis_url=None))
    load_demo_data(database, "small", 3, date(2026, 6, 1))
    database.dispose()
    before = _state(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(cli, ["db", "downgrade", "base", "--no-backup"])
        assert refused.exit_code == 2, refused.output
        assert "--yes" in refused.output
        assert _state(url) == before  # nothing changed
        done = runner.invoke(cli, ["db", "downgrade", "base", "--yes", "--no-backup"])
        assert done.exit_code == 0, done.output
        assert "base (empty)" in done.output
        engine = create_engine(url)
        with engine.connect() as connection:
            left = set(inspect(connection).get_table_names()) - {"alembic_version"}
        engine.dispose()
        assert left == set()
        up = runner.invoke(cli, ["db", "upgrade", "--no-backup"])
        assert up.exit_code == 0, up.output
        revision, schema, _ = _state(url)
        assert (revision, schema) == before[:2]
    finally:
        get_settings.cache_clear()


@pytest.mark.skipif(is_postgres(), reason="the automatic backup before a migration is SQLite's")
def test_an_sqlite_downgrade_backs_the_data_up_first(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import shutil

    from sqlalchemy.engine import make_url

    path = tmp_path / "st.db"
    shutil.copyfile(make_url(database_factory.fresh("down-backup")).database or "", path)
    url = f"sqlite+pysqlite:///{path}"
    database = Database(settings_for(url, redis_url=None))
    load_demo_data(database, "small", 3, date(2026, 6, 1))
    database.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    try:
        down = CliRunner().invoke(cli, ["db", "downgrade", "-1"])
        assert down.exit_code == 0, down.output
        copies = sorted((path.parent / "backups").glob("supplytrack-*.db"))
        assert len(copies) == 1, down.output
    finally:
        get_settings.cache_clear()
