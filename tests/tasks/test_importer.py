"""supplytrack import: the only bypass of the date rules, audited as IMPORT, all or nothing."""

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from supplytrack.audit.models import AuditLog, TaskInstanceHistory
from supplytrack.cli import app as cli
from supplytrack.core.db import Database
from supplytrack.core.settings import get_settings
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.factories import Factory, days


@pytest.fixture
def cli_database(committed_database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", committed_database.url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    with committed_database.session_scope() as session:
        factory = Factory(session)
        project = factory.project(code="EV-9")
        factory.template(project, name="PPAP", canonical_due=days(30))
        factory.assign(project, factory.supplier(code="V-1"))
    yield committed_database
    get_settings.cache_clear()


def _csv(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "history.csv"
    path.write_text(
        "projectCode,supplierCode,templateName,status,actualDue,completedAt\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return str(path)


def _state(database: Database) -> tuple[str, str, int]:
    with database.session_scope(write=False) as session:
        instance = session.scalars(select(TaskInstance)).one()
        count = session.scalar(select(func.count()).select_from(TaskInstanceHistory)) or 0
        return instance.status, instance.actual_due.isoformat(), count


def test_dry_run_writes_nothing_and_import_writes_history(
    cli_database: Database, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "EV-9,V-1,PPAP,APPROVED,2025-03-01,2025-02-27T10:00:00Z")
    runner = CliRunner()
    before = _state(cli_database)
    dry = runner.invoke(cli, ["import", path, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would change" in dry.output
    assert _state(cli_database) == before
    real = runner.invoke(cli, ["import", path])
    assert real.exit_code == 0, real.output
    assert _state(cli_database) == ("APPROVED", "2025-03-01", 2)
    with cli_database.session_scope(write=False) as session:
        sources = set(session.scalars(select(TaskInstanceHistory.source)))
        change = session.scalars(select(TaskInstanceHistory.change_id)).first()
        runs = session.scalars(select(AuditLog).where(AuditLog.entity == "IMPORT")).all()
    assert sources == {"IMPORT"}
    # The run is in the audit log too, once (the dry run wrote nothing), tied to its rows.
    assert [(run.field, run.source, run.change_id) for run in runs] == [
        ("imported", "IMPORT", change)
    ]
    assert '"changedFields":2' in (runs[0].new_value or "")


def test_one_bad_row_refuses_the_file(cli_database: Database, tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "EV-9,V-1,PPAP,APPROVED,2025-03-01,",
        "EV-9,V-404,PPAP,APPROVED,2025-03-01,",
        "EV-9,V-1,PPAP,DONE,2025-02-30,",
    )
    before = _state(cli_database)
    result = CliRunner().invoke(cli, ["import", path])
    assert result.exit_code == 2
    assert "line 3" in result.output
    assert "unknown supplier" in result.output
    assert "line 4" in result.output
    assert _state(cli_database) == before


@pytest.fixture
def chained(committed_database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """EV-7 with milestones TOOL -> PPAP (PPAP depends on TOOL) and supplier V-7 on it."""
    monkeypatch.setenv("DATABASE_URL", committed_database.url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    with committed_database.session_scope() as session:
        factory = Factory(session)
        project = factory.project(code="EV-7", start_date=None)
        tool = factory.template(project, name="TOOL", canonical_due=days(30))
        factory.template(project, (tool.id,), name="PPAP", canonical_due=days(40))
        factory.assign(project, factory.supplier(code="V-7"))
    yield committed_database
    get_settings.cache_clear()


def _dues(database: Database) -> list[str]:
    with database.session_scope(write=False) as session:
        rows = session.scalars(select(TaskInstance.actual_due).order_by(TaskInstance.id))
        return [day.isoformat() for day in rows]


def test_import_keeps_dependency_order_or_names_the_rows_in_the_way(
    chained: Database, tmp_path: Path
) -> None:
    before = _dues(chained)
    # PPAP (open) before its open prerequisite TOOL: refused, nothing written.
    early = _csv(tmp_path, "EV-7,V-7,PPAP,IN_PROGRESS,2025-03-01,")
    refused = CliRunner().invoke(cli, ["import", early])
    assert refused.exit_code == 2, refused.output
    assert "line 2: DEPENDENCY_ORDER" in refused.output
    assert "nothing written" in refused.output
    assert _dues(chained) == before
    # The same date with TOOL moved before it too: in order, imported.
    both = _csv(
        tmp_path,
        "EV-7,V-7,TOOL,IN_PROGRESS,2025-02-01,",
        "EV-7,V-7,PPAP,IN_PROGRESS,2025-03-01,",
    )
    imported = CliRunner().invoke(cli, ["import", both])
    assert imported.exit_code == 0, imported.output
    assert _dues(chained) == ["2025-02-01", "2025-03-01"]


def test_import_refuses_days_outside_the_valid_range(chained: Database, tmp_path: Path) -> None:
    before = _dues(chained)
    path = _csv(tmp_path, "EV-7,V-7,PPAP,APPROVED,0001-01-01,2025-02-27T10:00:00Z")
    result = CliRunner().invoke(cli, ["import", path])
    assert result.exit_code == 2
    assert "DATE_OUT_OF_RANGE" in result.output
    assert _dues(chained) == before


def test_import_refuses_control_characters_in_any_column(
    cli_database: Database, tmp_path: Path
) -> None:
    before = _state(cli_database)
    path = _csv(tmp_path, f"EV-9,V-1,PPAP,IN_PROGRESS,{days(30).isoformat()},\x07")
    result = CliRunner().invoke(cli, ["import", path])
    assert result.exit_code == 2, result.output
    assert "control characters" in result.output
    assert _state(cli_database) == before
