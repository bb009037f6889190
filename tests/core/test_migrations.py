"""Migrations: up, down and up again; the planned schema; no drift; the database's own guards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, exc, inspect, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from supplytrack.cli import app as cli
from supplytrack.core.backup import Manifest
from supplytrack.core.migrate import current_revision, downgrade, head_revision, upgrade
from supplytrack.core.settings import get_settings
from supplytrack.models import Base
from tests.fixtures.database import DatabaseFactory, is_postgres

SPEC_TABLES = {
    "projects",
    "suppliers",
    "supplier_capabilities",
    "supplier_projects",
    "task_templates",
    "task_template_dependencies",
    "task_instances",
    "task_instance_history",
    "api_tokens",
    "jobs",
}
PLANNED_INDEXES = [
    ("task_instances", ("status",)),
    ("task_instances", ("supplier_project_id", "status")),
    ("task_instances", ("task_template_id",)),
    ("task_instances", ("actual_due",)),
    ("supplier_projects", ("project_id",)),
    ("supplier_projects", ("supplier_id",)),
    ("task_templates", ("project_id", "canonical_due")),
]
VERSIONED_TABLES = [
    "projects",
    "suppliers",
    "supplier_projects",
    "task_templates",
    "task_instances",
]
NOW = "2026-01-01 00:00:00"


def _index_columns(connection: Connection, table: str) -> set[tuple[str, ...]]:
    return {
        tuple(str(name) for name in index["column_names"])
        for index in inspect(connection).get_indexes(table)
    }


@pytest.fixture(scope="module")
def migrated_engine(database_factory: DatabaseFactory) -> Iterator[Engine]:
    """An empty database taken through upgrade head, downgrade base and upgrade head again."""
    url = database_factory.empty("migrations")
    upgrade("head", url=url)
    downgrade("base", url=url)
    engine = create_engine(url)
    with engine.connect() as connection:
        left = set(inspect(connection).get_table_names()) - {"alembic_version"}
        assert left == set(), f"downgrade base left tables behind: {sorted(left)}"
        assert current_revision(connection) is None
    engine.dispose()
    upgrade("head", url=url)
    yield engine
    engine.dispose()


def test_upgrade_reaches_head(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert head_revision() is not None


def test_every_spec_table_exists(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    assert tables >= SPEC_TABLES, f"missing: {sorted(SPEC_TABLES - tables)}"


@pytest.mark.parametrize(("table", "columns"), PLANNED_INDEXES)
def test_planned_index_exists(
    migrated_engine: Engine, table: str, columns: tuple[str, ...]
) -> None:
    with migrated_engine.connect() as connection:
        assert columns in _index_columns(connection, table)


def test_models_and_migrations_do_not_drift(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


@pytest.mark.skipif(is_postgres(), reason="AUTOINCREMENT is an SQLite table option")
def test_sqlite_autoincrement_tables_match_the_models(migrated_engine: Engine) -> None:
    """compare_metadata does not see table options: check the one the models declare."""
    wanted = {
        name
        for name, table in Base.metadata.tables.items()
        if table.dialect_options["sqlite"].get("autoincrement")
    }
    assert wanted, "the models declare no AUTOINCREMENT table; this check would be vacuous"
    with migrated_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        ).all()
    have = {name for name, sql in rows if "AUTOINCREMENT" in (sql or "").upper()}
    assert have == wanted


def test_downgrade_removes_the_append_only_guard(database_factory: DatabaseFactory) -> None:
    url = database_factory.empty("guard")
    upgrade("head", url=url)
    downgrade("base", url=url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                leftovers = connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).all()
            else:
                leftovers = connection.execute(
                    text("SELECT proname FROM pg_proc WHERE proname LIKE 'supplytrack%'")
                ).all()
        assert leftovers == []
    finally:
        engine.dispose()


# --- the database's own guards, on rows inserted with raw SQL --------------------------------


@pytest.fixture
def raw(migrated_engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back, with one of everything inserted."""
    with migrated_engine.connect() as connection:
        transaction = connection.begin()
        _seed(connection)
        try:
            yield connection
        finally:
            transaction.rollback()


def _seed(connection: Connection) -> None:
    stamps = {"v": 1, "c": NOW, "u": NOW}
    statements = [
        "INSERT INTO projects (id, code, name, status, version, created_at, updated_at) "
        "VALUES (1, 'P', 'P', 'ACTIVE', :v, :c, :u)",
        "INSERT INTO suppliers (id, code, name, status, version, created_at, updated_at) "
        "VALUES (1, 'S', 'S', 'ACTIVE', :v, :c, :u)",
        "INSERT INTO supplier_projects (id, supplier_id, project_id, status, assigned_at, "
        "version, created_at, updated_at) VALUES (1, 1, 1, 'ACTIVE', :c, :v, :c, :u)",
        "INSERT INTO task_templates (id, project_id, name, canonical_due, sequence, version, "
        "created_at, updated_at) VALUES (1, 1, 'T', '2027-01-01', 1, :v, :c, :u)",
        "INSERT INTO task_templates (id, project_id, name, canonical_due, sequence, version, "
        "created_at, updated_at) VALUES (2, 1, 'T2', '2027-01-01', 2, :v, :c, :u)",
        "INSERT INTO task_instances (id, supplier_project_id, project_id, supplier_id, "
        "task_template_id, status, actual_due, version, created_at, updated_at) "
        "VALUES (1, 1, 1, 1, 1, 'NOT_STARTED', '2027-01-01', :v, :c, :u)",
    ]
    for statement in statements:
        connection.execute(text(statement), stamps)
    _insert_history(connection)


def _insert_history(connection: Connection) -> None:
    connection.execute(
        text(
            "INSERT INTO task_instance_history (task_instance_id, field, old_value, new_value, "
            "changed_at, actor, source) VALUES (1, 'NOTES', NULL, 'x', :c, 'system', 'API')"
        ),
        {"c": NOW},
    )


def _refused(connection: Connection, statement: str, **params: object) -> str:
    """Run ``statement`` in a savepoint and return the database's complaint (fail if none)."""
    savepoint = connection.begin_nested()
    try:
        connection.execute(text(statement), params)
    except exc.DBAPIError as error:
        savepoint.rollback()
        return str(error.orig)
    savepoint.rollback()
    pytest.fail(f"the database accepted: {statement} {params}")


def _history_count(connection: Connection) -> int:
    return int(connection.execute(text("SELECT COUNT(*) FROM task_instance_history")).scalar_one())


def test_history_accepts_inserts(raw: Connection) -> None:
    before = _history_count(raw)
    _insert_history(raw)
    assert _history_count(raw) == before + 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE task_instance_history SET new_value = 'forged'",
        "UPDATE task_instance_history SET reason = 'x' WHERE task_instance_id = 1",
        "DELETE FROM task_instance_history",
        "DELETE FROM task_instance_history WHERE task_instance_id = 1",
    ],
)
def test_history_refuses_update_and_delete(raw: Connection, statement: str) -> None:
    before = raw.execute(text("SELECT id, new_value FROM task_instance_history")).all()
    assert before, "no history row to protect"
    message = _refused(raw, statement)
    assert "append-only" in message
    assert raw.execute(text("SELECT id, new_value FROM task_instance_history")).all() == before


@pytest.mark.skipif(not is_postgres(), reason="TRUNCATE exists on PostgreSQL only")
def test_history_refuses_truncate(raw: Connection) -> None:
    assert "append-only" in _refused(raw, "TRUNCATE task_instance_history CASCADE")
    assert _history_count(raw) >= 1


@pytest.mark.parametrize("table", VERSIONED_TABLES)
def test_version_must_be_positive(raw: Connection, table: str) -> None:
    _refused(raw, f"UPDATE {table} SET version = 0")
    _refused(raw, f"UPDATE {table} SET version = -3")
    raw.execute(text(f"UPDATE {table} SET version = 2"))


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("projects", "status"),
        ("suppliers", "status"),
        ("supplier_projects", "status"),
        ("task_instances", "status"),
        ("task_instance_history", "source"),
        ("api_tokens", "role"),
    ],
)
def test_enum_columns_refuse_unknown_values(raw: Connection, table: str, column: str) -> None:
    if table == "task_instance_history":
        # The append-only guard refuses every UPDATE; prove the enum CHECK on an INSERT.
        _refused(
            raw,
            "INSERT INTO task_instance_history (task_instance_id, field, changed_at, actor, "
            "source) VALUES (1, 'NOTES', :c, 'system', 'GUESSED')",
            c=NOW,
        )
        return
    if table == "api_tokens":
        _refused(
            raw,
            "INSERT INTO api_tokens (name, role, digest, prefix, created_at) "
            "VALUES ('t', 'superuser', 'd', 'p', :c)",
            c=NOW,
        )
        return
    _refused(raw, f"UPDATE {table} SET {column} = 'DONE'")
    _refused(raw, f"UPDATE {table} SET {column} = 'active'")


def test_task_status_accepts_every_known_value(raw: Connection) -> None:
    for status in ("NOT_STARTED", "IN_PROGRESS", "REJECTED", "BLOCKED"):
        raw.execute(text("UPDATE task_instances SET status = :s WHERE id = 1"), {"s": status})
    raw.execute(
        text("UPDATE task_instances SET status = 'SUBMITTED', submitted_at = :c WHERE id = 1"),
        {"c": NOW},
    )
    for status in ("APPROVED", "WAIVED"):
        raw.execute(
            text("UPDATE task_instances SET status = :s, completed_at = :c WHERE id = 1"),
            {"s": status, "c": NOW},
        )


_INSERT_INSTANCE = (
    "INSERT INTO task_instances (supplier_project_id, project_id, supplier_id, task_template_id, "
    "status, actual_due, submitted_at, completed_at, version, created_at, updated_at) "
    "VALUES (1, 1, 1, 2, :status, :due, :submitted, :completed, 1, :c, :c)"
)


@pytest.mark.parametrize(
    ("status", "completed"),
    [
        ("APPROVED", None),
        ("WAIVED", None),
        ("NOT_STARTED", NOW),
        ("IN_PROGRESS", NOW),
        ("SUBMITTED", NOW),
        ("REJECTED", NOW),
        ("BLOCKED", NOW),
    ],
)
def test_completed_at_iff_approved_or_waived_on_insert(
    raw: Connection, status: str, completed: str | None
) -> None:
    _refused(
        raw,
        _INSERT_INSTANCE,
        status=status,
        due=date(2027, 1, 1),
        submitted=NOW,
        completed=completed,
        c=NOW,
    )


@pytest.mark.parametrize("status", ["APPROVED", "WAIVED"])
def test_completed_at_iff_done_accepts_the_valid_rows(raw: Connection, status: str) -> None:
    raw.execute(
        text(_INSERT_INSTANCE),
        {"status": status, "due": date(2027, 1, 1), "submitted": NOW, "completed": NOW, "c": NOW},
    )


def test_completed_at_iff_done_on_update(raw: Connection) -> None:
    _refused(raw, "UPDATE task_instances SET status = 'WAIVED' WHERE id = 1")
    _refused(raw, "UPDATE task_instances SET completed_at = :c WHERE id = 1", c=NOW)
    raw.execute(
        text("UPDATE task_instances SET status = 'WAIVED', completed_at = :c WHERE id = 1"),
        {"c": NOW},
    )
    # Reopening must clear completed_at in the same statement.
    _refused(raw, "UPDATE task_instances SET status = 'IN_PROGRESS' WHERE id = 1")


def test_cli_downgrade_by_a_relative_revision(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`supplytrack db downgrade -1`, the example of the command's own help, works."""
    url = database_factory.fresh("relative")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        down = runner.invoke(cli, ["db", "downgrade", "-1"])
        assert down.exit_code == 0, down.output
        engine = create_engine(url)
        with engine.connect() as connection:
            below_head = current_revision(connection)
        engine.dispose()
        assert below_head is not None
        assert below_head != head_revision()
        assert f"database at {below_head}" in down.output
        up = runner.invoke(cli, ["db", "upgrade"])
        assert up.exit_code == 0, up.output
        assert f"database at {head_revision()}" in up.output
    finally:
        get_settings.cache_clear()


@pytest.mark.skipif(is_postgres(), reason="the automatic backup before an upgrade is SQLite's")
def test_an_sqlite_upgrade_backs_the_data_up_first(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "st.db"  # a folder of its own: backups/ appears beside the file
    shutil.copyfile(make_url(database_factory.fresh("upgrade-backup")).database or "", path)
    url = f"sqlite+pysqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO suppliers (code, name, contact_email, status, created_at,"
                " updated_at, version) VALUES ('S-1', 'One', 'a@b.example', 'ACTIVE', :n, :n, 1)"
            ),
            {"n": NOW},
        )
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        at_head = runner.invoke(cli, ["db", "upgrade"])
        assert at_head.exit_code == 0, at_head.output
        assert not (path.parent / "backups").exists()  # nothing to migrate: no backup
        assert runner.invoke(cli, ["db", "downgrade", "-1", "--no-backup"]).exit_code == 0
        up = runner.invoke(cli, ["db", "upgrade"])
        assert up.exit_code == 0, up.output
        copies = sorted((path.parent / "backups").glob("supplytrack-*.db"))
        assert len(copies) == 1, up.output
        assert f"backed up first: {copies[0]}" in up.output.replace("\n", "")
        manifest = Manifest.read(copies[0])
        assert manifest.tables["suppliers"]["rows"] == 1
        assert manifest.revision != head_revision()
    finally:
        get_settings.cache_clear()
