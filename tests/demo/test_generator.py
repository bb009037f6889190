"""The demo data generator: complete, consistent, deterministic, and never loads twice."""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import typer
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.cli import demo as demo_cli
from supplytrack.core.db import Database
from supplytrack.core.settings import get_settings
from supplytrack.demo.generator import DEMO_TABLES, DatabaseNotEmpty, LoadReport, load_demo_data
from supplytrack.models import Base
from supplytrack.projects.models import Project
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.state_machine import RULES
from tests.fixtures.database import DatabaseFactory, settings_for

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, tzinfo=UTC)  # the load's 'now': today's midnight in UTC
SEED = 7


def load(database: Database, seed: int = SEED) -> LoadReport:
    """A small load as of TODAY."""
    return load_demo_data(database, "small", seed, TODAY)


def digest(database: Database) -> str:
    """A fingerprint of every row of the demo tables, ids included, in primary-key order."""
    sha = hashlib.sha256()
    with database.engine.connect() as connection:
        for name in DEMO_TABLES:
            table = Base.metadata.tables[name]
            rows = connection.execute(select(table).order_by(*table.primary_key.columns))
            for row in rows:
                sha.update(repr(tuple(row)).encode())
    return sha.hexdigest()


def rows(database: Database, sql: str) -> list[Any]:
    """The rows of a query."""
    with database.engine.connect() as connection:
        return list(connection.execute(text(sql)))


@dataclass(frozen=True)
class Demo:
    """A database with the small demo data set, and the report of its load."""

    database: Database
    report: LoadReport


@pytest.fixture(scope="module")
def demo(database_factory: DatabaseFactory) -> Iterator[Demo]:
    """One small load shared by the tests that only read it."""
    database = Database(settings_for(database_factory.fresh("demo")))
    yield Demo(database, load(database))
    database.dispose()


@pytest.fixture
def loaded(committed_database: Database) -> Database:
    """A fresh database of its own with the small demo data set, for tests that write."""
    load(committed_database)
    return committed_database


def test_small_load_has_every_status_overdue_and_moved_instances(demo: Demo) -> None:
    report = demo.report
    assert report.rows["projects"] == 3
    assert report.rows["suppliers"] == 40
    assert 1_000 <= report.rows["task_instances"] <= 3_000
    assert report.rows["task_instance_history"] > report.rows["task_instances"] // 2
    assert set(report.statuses) == {status.value for status in TaskStatus}
    assert report.overdue > 0
    assert report.moved > 0
    templates = "SELECT COUNT(*) FROM task_templates GROUP BY project_id"
    per_project = rows(demo.database, templates)
    assert all(12 <= count <= 20 for (count,) in per_project)
    statuses = rows(demo.database, "SELECT DISTINCT status FROM supplier_projects")
    assert {status for (status,) in statuses} == {"ACTIVE", "REMOVED"}


def test_instances_are_exactly_the_applicable_templates(demo: Demo) -> None:
    database = demo.database
    expected = rows(
        database,
        """SELECT sp.id, t.id FROM supplier_projects sp
           JOIN task_templates t ON t.project_id = sp.project_id
           WHERE t.required_capability IS NULL OR EXISTS (
               SELECT 1 FROM supplier_capabilities c
               WHERE c.supplier_id = sp.supplier_id AND c.capability = t.required_capability)
           ORDER BY 1, 2""",
    )
    actual = rows(
        database,
        """SELECT ti.supplier_project_id, ti.task_template_id FROM task_instances ti
           JOIN supplier_projects sp ON sp.id = ti.supplier_project_id
            AND sp.project_id = ti.project_id AND sp.supplier_id = ti.supplier_id
           JOIN task_templates t ON t.id = ti.task_template_id AND t.project_id = ti.project_id
           ORDER BY 1, 2""",
    )
    assert actual == expected
    with_capability = rows(
        database,
        "SELECT COUNT(*) FROM task_instances ti JOIN task_templates t "
        "ON t.id = ti.task_template_id WHERE t.required_capability IS NOT NULL",
    )
    assert with_capability[0][0] > 0


def test_same_seed_same_rows_other_seed_other_rows(
    demo: Demo, database_factory: DatabaseFactory
) -> None:
    twin = Database(settings_for(database_factory.fresh("demo-twin")))
    other = Database(settings_for(database_factory.fresh("demo-other")))
    try:
        load(twin)
        load(other, seed=SEED + 1)
        assert digest(twin) == digest(demo.database)
        assert digest(other) != digest(demo.database)
    finally:
        twin.dispose()
        other.dispose()


def _history(database: Database) -> dict[int, list[TaskInstanceHistory]]:
    trail: dict[int, list[TaskInstanceHistory]] = defaultdict(list)
    with Session(database.engine) as session:
        query = select(TaskInstanceHistory).order_by(TaskInstanceHistory.id)
        for row in session.scalars(query):
            trail[row.task_instance_id].append(row)
    return trail


def test_history_tells_each_instance_story(demo: Demo) -> None:
    database = demo.database
    trail = _history(database)
    instances = rows(
        database,
        "SELECT ti.id, ti.status, ti.actual_due, t.canonical_due, ti.version, ti.submitted_at,"
        " ti.created_at FROM task_instances ti"
        " JOIN task_templates t ON t.id = ti.task_template_id",
    )
    for instance in instances:
        changes = trail.get(instance.id, [])
        assert instance.version == 1 + len(changes)
        _check_moves(instance, [row for row in changes if row.field == "ACTUAL_DUE"])
        _check_steps(instance, [row for row in changes if row.field == "STATUS"])
        times = [_naive(row.changed_at) for row in changes]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        assert all(_naive(instance.created_at) < moment < _naive(NOW) for moment in times)


def _check_moves(instance: Any, moves: list[TaskInstanceHistory]) -> None:
    """A moved instance says where from and to, and why; an unmoved one has no move."""
    if str(instance.actual_due) == str(instance.canonical_due):
        assert not moves, instance.id
        return
    assert moves, instance.id
    assert moves[0].old_value == str(instance.canonical_due)
    assert moves[-1].new_value == str(instance.actual_due)
    assert all(move.reason for move in moves)


def _check_steps(instance: Any, steps: list[TaskInstanceHistory]) -> None:
    """From NOT_STARTED to the current status, by moves the status machine allows."""
    if not steps:
        assert instance.status == "NOT_STARTED"
        assert instance.submitted_at is None
        return
    allowed = {(source, rule.target): rule for rule in RULES for source in rule.sources}
    assert steps[0].old_value == "NOT_STARTED"
    assert steps[-1].new_value == instance.status
    for before, after in itertools.pairwise(steps):
        assert before.new_value == after.old_value
    for step in steps:
        rule = allowed[(TaskStatus(str(step.old_value)), TaskStatus(str(step.new_value)))]
        assert step.reason if rule.needs_reason else step.reason is None
    submissions = [step for step in steps if step.new_value == "SUBMITTED"]
    if submissions:
        assert _naive(submissions[0].changed_at) == _naive(instance.submitted_at)
    else:
        assert instance.submitted_at is None


def _naive(moment: Any) -> datetime:
    """Timestamps read through raw SQL are text on SQLite and naive datetimes on PostgreSQL."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    assert isinstance(value, datetime)
    return value.replace(tzinfo=None)


def test_history_rows_are_imports_by_the_demo_actor(demo: Demo) -> None:
    database = demo.database
    kinds = rows(
        database,
        "SELECT DISTINCT source, actor, actor_id, request_id, bulk_operation_id"
        " FROM task_instance_history",
    )
    assert kinds == [("IMPORT", "system:demo-data", None, None, None)]
    done = rows(
        database,
        "SELECT status, COUNT(*) FROM task_instances WHERE completed_at IS NOT NULL"
        " GROUP BY status",
    )
    assert {status for status, _count in done} == {status.value for status in DONE_STATUSES}


def test_dates_respect_dependencies_and_project_windows(demo: Demo) -> None:
    database = demo.database
    broken_templates = rows(
        database,
        """SELECT d.template_id FROM task_template_dependencies d
           JOIN task_templates t ON t.id = d.template_id
           JOIN task_templates p ON p.id = d.depends_on_id
           WHERE t.canonical_due < p.canonical_due OR t.sequence <= p.sequence""",
    )
    assert broken_templates == []
    outside = rows(
        database,
        """SELECT t.id FROM task_templates t JOIN projects p ON p.id = t.project_id
           WHERE t.canonical_due < p.start_date OR t.canonical_due > p.sop_date""",
    )
    assert outside == []
    broken_instances = rows(
        database,
        """SELECT ti.id FROM task_template_dependencies d
           JOIN task_instances ti ON ti.task_template_id = d.template_id
           JOIN task_instances pi ON pi.task_template_id = d.depends_on_id
            AND pi.supplier_project_id = ti.supplier_project_id
           WHERE ti.actual_due < pi.actual_due""",
    )
    assert broken_instances == []
    assert rows(database, "SELECT COUNT(*) FROM task_template_dependencies")[0][0] > 0


def test_submitted_work_has_its_prerequisites_done(demo: Demo) -> None:
    """What was ever submitted passed the status machine's gate: prerequisites done."""
    database = demo.database
    ungated = rows(
        database,
        """SELECT ti.id FROM task_template_dependencies d
           JOIN task_instances ti ON ti.task_template_id = d.template_id
           JOIN task_instances pi ON pi.task_template_id = d.depends_on_id
            AND pi.supplier_project_id = ti.supplier_project_id
           WHERE ti.submitted_at IS NOT NULL AND pi.status NOT IN ('APPROVED', 'WAIVED')""",
    )
    assert ungated == []
    submitted = rows(database, "SELECT COUNT(*) FROM task_instances WHERE submitted_at IS NOT NULL")
    assert submitted[0][0] > 0


def test_new_rows_after_a_load_get_fresh_ids(loaded: Database) -> None:
    last_change = rows(loaded, "SELECT MAX(id) FROM task_instance_history")[0][0]
    with loaded.session_scope() as session:
        project = Project(code="NEW-1", name="After the demo", status="PLANNING")
        change = TaskInstanceHistory(
            task_instance_id=1, field="NOTES", new_value="checked", actor="test", source="API"
        )
        session.add_all([project, change])
        session.flush()
        assert project.id == 4
        assert change.id == last_change + 1


@pytest.fixture
def command(loaded: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    """The demo-data command as its own app, on the loaded database."""
    monkeypatch.setenv("DATABASE_URL", loaded.url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    # configure_logging would point the root logger at the runner's captured stdout.
    monkeypatch.setattr(demo_cli, "configure_logging", lambda _settings: None)
    get_settings.cache_clear()
    app = typer.Typer()
    app.command()(demo_cli.demo_data)
    yield app
    get_settings.cache_clear()


def test_second_load_refuses_and_changes_nothing(loaded: Database, command: typer.Typer) -> None:
    before = digest(loaded)
    with pytest.raises(DatabaseNotEmpty):
        load(loaded, seed=3)
    args = ["--scale", "small", "--seed", "3", "--today", "2026-11-26"]
    refused = CliRunner().invoke(command, args)
    assert refused.exit_code == 2, refused.output
    assert "refused" in refused.output
    skipped = CliRunner().invoke(command, [*args, "--if-empty"])
    assert skipped.exit_code == 0, skipped.output
    assert "skipped" in skipped.output
    assert digest(loaded) == before


def test_command_loads_an_empty_database(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = database_factory.fresh("demo-cli")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(demo_cli, "configure_logging", lambda _settings: None)
    get_settings.cache_clear()
    app = typer.Typer()
    app.command()(demo_cli.demo_data)
    try:
        result = CliRunner().invoke(app, ["--scale", "small", "--today", "2026-11-26"])
        unmigrated = database_factory.empty("demo-unmigrated")
        monkeypatch.setenv("DATABASE_URL", unmigrated)
        get_settings.cache_clear()
        not_ready = CliRunner().invoke(app, ["--scale", "small"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "task_instances" in result.output
    assert not_ready.exit_code == 2
    assert "db upgrade" in not_ready.output
