"""Backup while writes run, restore into an empty database, every table identical; verify.

Runs on the suite's engine (SQLite, or PostgreSQL with pg_dump and pg_restore).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.engine import make_url

from supplytrack.core.backup import (
    BackupError,
    Manifest,
    backup,
    manifest_path,
    restore,
    table_checksums,
    verify,
)
from supplytrack.core.db import Database
from supplytrack.demo.generator import load_demo_data
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.database import DatabaseFactory, is_postgres, settings_for

pytestmark = pytest.mark.slow


def _checksums(url: str) -> dict[str, dict[str, object]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return table_checksums(connection)
    finally:
        engine.dispose()


@pytest.fixture
def populated(database_factory: DatabaseFactory) -> Iterator[Database]:
    database = Database(settings_for(database_factory.fresh("backup"), redis_url=None))
    load_demo_data(database, "small", 5, date(2026, 6, 1))
    yield database
    database.dispose()


def _target_url(database_factory: DatabaseFactory, tmp_path: Path) -> str:
    if is_postgres():
        return database_factory.empty("restored")
    return f"sqlite+pysqlite:///{tmp_path / 'restored.db'}"


def test_a_backup_taken_while_writes_run_restores_identical(
    populated: Database, database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        while not stop.is_set():
            with populated.session_scope() as session:
                session.execute(
                    update(TaskInstance)
                    .where(TaskInstance.id == 1 + len(written) % 50)
                    .values(notes=f"write {len(written)}", version=TaskInstance.version + 1)
                )
            written.append(1)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 5:  # the writer is under way before the backup starts
            threading.Event().wait(0.01)
        target = tmp_path / "backup" / "st.bak"
        manifest = backup(populated.url, target)
    finally:
        stop.set()
        writer.join()
    assert manifest_path(target).exists()
    assert manifest.tables["task_instances"]["rows"] > 100
    assert manifest.revision is not None

    restored_url = _target_url(database_factory, tmp_path)
    restored = restore(restored_url, target)
    assert restored.tables == manifest.tables
    # Independently of restore's own check: the same rows, table by table.
    assert _checksums(restored_url) == Manifest.read(target).tables
    assert verify(target).tables == manifest.tables


def test_restore_refuses_a_database_with_rows_unless_forced(
    populated: Database, tmp_path: Path
) -> None:
    target = tmp_path / "st.bak"
    backup(populated.url, target)
    with populated.session_scope() as session:
        session.execute(update(TaskInstance).values(notes="after the backup"))
    populated.dispose()
    with pytest.raises(BackupError, match="not empty"):
        restore(populated.url, target)
    engine = create_engine(populated.url)
    with engine.connect() as connection:
        assert connection.scalar(
            select(func.count()).where(TaskInstance.notes == "after the backup")
        )
    engine.dispose()
    restore(populated.url, target, force=True)
    assert _checksums(populated.url) == Manifest.read(target).tables


def test_verify_names_a_damaged_or_unaccompanied_backup(
    populated: Database, tmp_path: Path
) -> None:
    target = tmp_path / "st.bak"
    backup(populated.url, target)
    assert verify(target).revision is not None
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="does not match its manifest"):
        verify(target)
    manifest_path(target).unlink()
    with pytest.raises(BackupError, match="manifest"):
        verify(target)


@pytest.mark.skipif(not is_postgres(), reason="a scratch restore is PostgreSQL's deep verify")
def test_a_deep_verify_restores_into_a_scratch_database_and_drops_it(
    populated: Database, tmp_path: Path
) -> None:
    target = tmp_path / "st.dump"
    manifest = backup(populated.url, target)
    server = make_url(populated.url)
    found = verify(target, scratch_url=server.render_as_string(hide_password=False))
    assert found.tables == manifest.tables
    engine = create_engine(server.set(database="postgres"))
    with engine.connect() as connection:
        left = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
            (f"{server.database}"[:45] + "_verify_%",),
        ).scalar_one()
    engine.dispose()
    assert left == 0
