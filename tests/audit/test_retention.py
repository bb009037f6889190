"""Retention with legal holds (issue 13 item 3): nothing under hold or inside retention goes.

Each edge is its own test: the last day kept and the day after, a per-project retention, a
hold on the project, a hold on a supplier, a reopened project, no signing key. After a
disposal the exported bundle verifies, and so do the hash chains and the checkpoints that had
signed the disposed rows (their tombstones stand in for them).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from supplytrack.audit import chain as audit_chain
from supplytrack.audit.models import (
    AccessLogEntry,
    AuditEntity,
    AuditLog,
    ChangeSource,
    HistoryField,
    TaskInstanceHistory,
)
from supplytrack.audit.retention_models import HistoryTombstone
from supplytrack.audit.service import AuditService, Change, Why
from supplytrack.cli import app as cli
from supplytrack.core import chain
from supplytrack.core.db import Database
from supplytrack.core.identity import system_actor
from supplytrack.core.settings import get_settings
from supplytrack.core.time import today, utcnow
from supplytrack.flows.bundle import verify_bundle
from supplytrack.flows.retention import RetentionFlows, add_years
from supplytrack.projects.models import Project
from supplytrack.projects.schemas import ProjectUpdate
from supplytrack.projects.service import ProjectService
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.database import DatabaseFactory, settings_for
from tests.fixtures.factories import Factory

KEY = "r" * 40
ACTOR = system_actor("test")


@dataclass
class Program:
    """A closed project with two suppliers' instances, each with history."""

    project: int
    suppliers: tuple[int, int]


@pytest.fixture
def database(
    database_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A database of its own, which the CLI uses too (with the signing key)."""
    url = database_factory.fresh("retention")
    database = Database(settings_for(url, redis_url=None, audit_signing_key=KEY))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", KEY)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()
    database.dispose()


def _program(database: Database, closed: datetime | None, **project: object) -> Program:
    """A project, two suppliers, two milestones fanned out, history on every instance."""
    with database.session_scope() as session:
        session.info["database"] = database
        factory = Factory(session)
        made = factory.project(**project)
        suppliers = (factory.supplier(), factory.supplier())
        for supplier in suppliers:
            factory.assign(made, supplier)
        factory.template(made)
        factory.template(made)
        ids = session.scalars(select(TaskInstance.id).where(TaskInstance.project_id == made.id))
        AuditService(session, ACTOR).record(
            [Change(i, HistoryField.NOTES, None, f"note {i}") for i in ids],
            source=ChangeSource.API,
            why=Why(),
            changed_at=(closed or utcnow()) - timedelta(days=30),  # before it closed
        )
        ProjectService(session, ACTOR).update(
            made, ProjectUpdate.model_validate({"status": "COMPLETED"})
        )
        if closed is not None:
            session.execute(
                text("UPDATE projects SET closed_at = :at WHERE id = :id"),
                {"at": closed.replace(tzinfo=None), "id": made.id},
            )
        return Program(made.id, (suppliers[0].id, suppliers[1].id))


def _counts(database: Database, project: int) -> tuple[int, int]:
    with database.session_scope(write=False) as session:
        instances = session.scalar(
            select(func.count()).select_from(TaskInstance).where(TaskInstance.project_id == project)
        )
        history = session.scalar(
            select(func.count())
            .select_from(TaskInstanceHistory)
            .join(TaskInstance, TaskInstance.id == TaskInstanceHistory.task_instance_id)
            .where(TaskInstance.project_id == project)
        )
    return int(instances or 0), int(history or 0)


def _apply(tmp_path: Path) -> str:
    done = CliRunner().invoke(cli, ["retention", "apply", "--out", str(tmp_path / "bundles")])
    assert done.exit_code == 0, done.output
    return done.output


def _verify(database: Database) -> audit_chain.Report:
    with database.session_scope(write=False) as session:
        return audit_chain.verify(session, database.settings)


def _checkpoint(database: Database) -> None:
    with database.session_scope() as session:
        audit_chain.make_checkpoint(session, database.settings, utcnow(), timedelta(0))


def _past(days: int) -> datetime:
    """Noon UTC of today minus ``days`` (APP_TIMEZONE is UTC in the tests)."""
    day = today() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_the_last_day_is_kept_and_the_day_after_is_due(database: Database) -> None:
    closed = datetime(2025, 3, 10, 12, tzinfo=UTC)
    program = _program(database, closed)
    longer = _program(database, closed, retention_years=3)
    with database.session_scope(write=False) as session:
        flows = RetentionFlows(session, ACTOR, database.settings)
        last = {d.project_id: d for d in flows.plan(date(2026, 3, 10))}
        after = {d.project_id: d for d in flows.plan(date(2026, 3, 11))}
    assert last[program.project].kept_until == date(2026, 3, 10)
    assert not last[program.project].due
    assert after[program.project].due
    assert after[program.project].instances == 4
    assert after[program.project].history_rows == 4
    assert after[longer.project].kept_until == date(2028, 3, 10)
    assert not after[longer.project].due
    assert add_years(date(2024, 2, 29), 1) == date(2025, 3, 1)  # never a day short
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_a_change_after_closing_keeps_the_records_a_retention_from_its_day(
    database: Database,
) -> None:
    program = _program(database, datetime(2025, 3, 10, 12, tzinfo=UTC))
    with database.session_scope() as session:
        first = session.scalars(
            select(TaskInstance.id).where(TaskInstance.project_id == program.project)
        ).first()
        assert first is not None
        AuditService(session, ACTOR).record(
            [Change(first, HistoryField.NOTES, "note", "late note")],
            source=ChangeSource.API,
            why=Why(),
            changed_at=datetime(2025, 9, 1, 8, tzinfo=UTC),
        )
    with database.session_scope(write=False) as session:
        due = RetentionFlows(session, ACTOR, database.settings).plan(date(2026, 3, 11))[0]
    assert due.closed_on == date(2025, 9, 1)
    assert due.kept_until == date(2026, 9, 1)
    assert not due.due


def test_a_project_cannot_ask_for_less_than_the_policy(database: Database) -> None:
    program = _program(database, datetime(2025, 3, 10, 12, tzinfo=UTC), retention_years=1)
    longer = database.settings.model_copy(update={"retention_years": 5})
    with database.session_scope(write=False) as session:
        due = RetentionFlows(session, ACTOR, longer).plan(date(2027, 1, 1))[0]
    assert due.project_id == program.project
    assert (due.years, due.kept_until, due.due) == (5, date(2030, 3, 10), False)


def test_apply_exports_first_then_disposes_and_every_chain_still_verifies(
    database: Database, tmp_path: Path
) -> None:
    due = _program(database, _past(367))
    kept = _program(database, _past(365))  # its last day is today
    _checkpoint(database)  # the rows about to go are signed already
    output = _apply(tmp_path)
    assert "4 instances and 4 history rows disposed of" in output
    assert _counts(database, due.project) == (0, 0)
    assert _counts(database, kept.project) == (4, 4)
    bundles = list((tmp_path / "bundles").glob("*.zip"))
    assert [bundle.name.endswith(f"project-{due.project}.zip") for bundle in bundles] == [True]
    assert verify_bundle(bundles[0], database.settings) == []
    with zipfile.ZipFile(bundles[0]) as opened:
        assert opened.read("history.csv").count(b"\n") == 5  # header and the 4 rows gone since
    with database.session_scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(HistoryTombstone)) == 4
        assert session.get(Project, due.project) is not None  # the project's record stays
        rows = session.scalars(select(AuditLog).where(AuditLog.entity == AuditEntity.RETENTION))
        assert {row.field for row in rows} == {"disposed", "created"}
    report = _verify(database)
    assert report.ok, [found.line() for found in report.first_breaks()]
    assert report.checkpoints == 2  # the one before and the seal
    again = _apply(tmp_path)  # nothing is left to dispose of: no second, empty disposal
    assert "disposed of" not in again
    with database.session_scope(write=False) as session:
        disposals = session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.field == "disposed")
        )
    assert disposals == 1


def test_a_hold_on_the_project_blocks_disposal_until_released(
    database: Database, tmp_path: Path
) -> None:
    program = _program(database, _past(400))
    runner = CliRunner()
    held = runner.invoke(
        cli, ["retention", "hold", "--project", str(program.project), "--reason", "claim 42"]
    )
    assert held.exit_code == 0, held.output
    _apply(tmp_path)
    assert _counts(database, program.project) == (4, 4)
    listed = runner.invoke(cli, ["retention", "holds"])
    assert "claim 42" in listed.output
    released = runner.invoke(cli, ["retention", "release", "1"])
    assert released.exit_code == 0, released.output
    again = runner.invoke(cli, ["retention", "release", "1"])
    assert again.exit_code == 2  # released already
    _apply(tmp_path)
    assert _counts(database, program.project) == (0, 0)
    with database.session_scope(write=False) as session:
        fields = set(session.scalars(select(AuditLog.field).where(AuditLog.entity == "HOLD")))
    assert fields == {"created", "releasedAt", "releasedBy"}


def test_a_hold_on_a_supplier_keeps_its_instances_and_its_access_log(
    database: Database, tmp_path: Path
) -> None:
    program = _program(database, _past(400))
    held, other = program.suppliers
    with database.session_scope() as session:
        RetentionFlows(session, ACTOR, database.settings).hold(
            project_id=None, supplier_id=held, reason="dispute"
        )
        old = utcnow() - timedelta(days=database.settings.access_log_retention_days + 1)
        for supplier in (held, other):
            session.add(
                AccessLogEntry(
                    at=old,
                    token_id=None,
                    role="supplier",
                    supplier_id=supplier,
                    method="GET",
                    route="/api/task-instances",
                    target="/api/task-instances",
                    status=200,
                    request_id=f"old-{supplier}",
                )
            )
    _apply(tmp_path)
    with database.session_scope(write=False) as session:
        left = set(
            session.scalars(
                select(TaskInstance.supplier_id).where(TaskInstance.project_id == program.project)
            )
        )
        logged = set(session.scalars(select(AccessLogEntry.supplier_id)))
    assert left == {held}
    assert logged == {held}
    assert _verify(database).ok


def test_a_reopened_project_is_not_disposed(database: Database, tmp_path: Path) -> None:
    program = _program(database, _past(400))
    with database.session_scope() as session:
        project = session.get(Project, program.project)
        assert project is not None
        ProjectService(session, ACTOR).update(
            project, ProjectUpdate.model_validate({"status": "ACTIVE"})
        )
        assert project.closed_at is None
    _apply(tmp_path)
    assert _counts(database, program.project) == (4, 4)
    with database.session_scope() as session:
        project = session.get(Project, program.project)
        assert project is not None
        ProjectService(session, ACTOR).update(
            project, ProjectUpdate.model_validate({"status": "ARCHIVED"})
        )
        assert project.closed_at is not None  # closed again today: a new year starts
    _apply(tmp_path)
    assert _counts(database, program.project) == (4, 4)


def test_without_a_signing_key_nothing_is_deleted(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = _program(database, _past(400))
    monkeypatch.delenv("AUDIT_SIGNING_KEY")
    get_settings.cache_clear()
    done = CliRunner().invoke(cli, ["retention", "apply", "--out", str(tmp_path)])
    assert done.exit_code == 2
    assert "AUDIT_SIGNING_KEY" in done.output
    assert _counts(database, program.project) == (4, 4)


def test_history_stays_append_only_outside_retention(database: Database) -> None:
    _program(database, _past(400))
    with pytest.raises(DBAPIError), database.session_scope() as session:
        session.execute(text("DELETE FROM task_instance_history"))
    # Retention's switch alone is not enough: a row goes only once its tombstone is there.
    switch = "SELECT set_config('supplytrack.disposal', 'on', true)"
    with database.session_scope() as session, chain.disposing():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(switch))
        with pytest.raises(DBAPIError):
            session.execute(text("DELETE FROM task_instance_history"))
        session.rollback()
    with database.session_scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(TaskInstanceHistory)) == 4


def test_the_day_a_project_closed_is_its_day_in_app_timezone(database: Database) -> None:
    late = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)  # already 11 March in Tokyo
    program = _program(database, late)
    tokyo = database.settings.model_copy(update={"app_timezone": "Asia/Tokyo"})
    with database.session_scope(write=False) as session:
        in_utc = RetentionFlows(session, ACTOR, database.settings).plan(date(2026, 3, 11))[0]
        in_tokyo = RetentionFlows(session, ACTOR, tokyo).plan(date(2026, 3, 11))[0]
    assert in_utc.project_id == in_tokyo.project_id == program.project
    assert (in_utc.closed_on, in_utc.due) == (date(2025, 3, 10), True)
    assert (in_tokyo.closed_on, in_tokyo.kept_until, in_tokyo.due) == (
        date(2025, 3, 11),
        date(2026, 3, 11),
        False,
    )


def test_a_hold_on_a_project_keeps_the_access_log_entries_that_name_it(
    database: Database, tmp_path: Path
) -> None:
    program = _program(database, None)  # open: only the access log is past its retention
    supplier = program.suppliers[0]
    old = utcnow() - timedelta(days=database.settings.access_log_retention_days + 1)
    with database.session_scope() as session:
        RetentionFlows(session, ACTOR, database.settings).hold(
            project_id=program.project, supplier_id=None, reason="audit"
        )
        for target in (
            f"/api/projects/{program.project}/calendar",
            f"/api/task-instances?projectId={program.project}",
            "/api/suppliers",
        ):
            session.add(
                AccessLogEntry(
                    at=old,
                    token_id=None,
                    role="supplier",
                    supplier_id=supplier,
                    method="GET",
                    route=target.split("?", maxsplit=1)[0],
                    target=target,
                    status=200,
                    request_id=target,
                )
            )
    output = _apply(tmp_path)
    assert "1 access-log" in output
    with database.session_scope(write=False) as session:
        left = sorted(session.scalars(select(AccessLogEntry.target)))
    assert left == sorted(
        [
            f"/api/projects/{program.project}/calendar",
            f"/api/task-instances?projectId={program.project}",
        ]
    )
    pruned = list((tmp_path / "bundles").glob("*-access-log.zip"))
    assert len(pruned) == 1
    assert verify_bundle(pruned[0], database.settings) == []
    with zipfile.ZipFile(pruned[0]) as opened:
        assert b"/api/suppliers" in opened.read("access_log.csv")
