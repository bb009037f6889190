"""The SQLite writer gate: writers queue in the gate, across threads and across processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from supplytrack.core.db import Database
from supplytrack.core.writer_gate import WriterGate, gate_for
from tests.fixtures.database import DatabaseFactory, is_postgres, settings_for

pytestmark = pytest.mark.skipif(is_postgres(), reason="SQLite's writer gate")

_HOLD = """
import sys
from pathlib import Path
from supplytrack.core.writer_gate import WriterGate
gate = WriterGate(Path(sys.argv[1]))
assert gate.acquire(5)
print("held", flush=True)
sys.stdin.readline()
gate.release()
"""


def _database_path(database: Database) -> str:
    name = database.engine.url.database
    assert name is not None
    return name


def test_one_thread_at_a_time_and_free_again(tmp_path: Path) -> None:
    gate = WriterGate(tmp_path / "x.db")
    assert gate.acquire(1)
    taken: list[bool] = []
    other = threading.Thread(target=lambda: taken.append(gate.acquire(0.01)))
    other.start()
    other.join()
    assert taken == [False]
    gate.release()
    assert gate.acquire(0.01)
    gate.release()


def test_the_same_file_has_one_gate_per_process(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    assert gate_for(str(path)) is gate_for(str(tmp_path / "." / "x.db"))


def test_another_process_holding_the_gate_holds_back_writers(
    database_factory: DatabaseFactory,
) -> None:
    database = Database(settings_for(database_factory.fresh("gate"), database_timeout=50))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, _database_path(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        with database.session(write=True) as session, pytest.raises(exc.OperationalError) as no:
            session.execute(text("SELECT 1"))
        assert "locked" in str(no.value)
        # Readers never wait for the gate.
        with database.session(write=False) as reader:
            assert reader.execute(text("SELECT 1")).scalar() == 1
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=10) == 0
        with database.session(write=True) as session:
            session.execute(text("SELECT 1"))
            session.commit()
    finally:
        holder.kill()
        holder.wait()
        database.dispose()


def test_writers_from_many_threads_queue_and_all_commit(
    database_factory: DatabaseFactory,
) -> None:
    database = Database(settings_for(database_factory.fresh("queue"), database_timeout=10_000))
    with database.session(write=True) as session:
        session.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        session.execute(text("INSERT INTO counter VALUES (0)"))
        session.commit()
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with database.session(write=True) as writer:
                    n = writer.execute(text("SELECT n FROM counter")).scalar_one()
                    writer.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
                    writer.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with database.session(write=False) as reader:
            # Read-then-write under the gate loses no update.
            assert reader.execute(text("SELECT n FROM counter")).scalar_one() == 120
    finally:
        database.dispose()


def test_a_connection_dropped_mid_transaction_gives_the_gate_back(
    database_factory: DatabaseFactory,
) -> None:
    database = Database(settings_for(database_factory.fresh("drop"), database_timeout=50))
    try:
        writer = database.session(write=True)
        writer.execute(text("SELECT 1"))
        writer.connection().invalidate()
        writer.close()
        with database.session(write=True) as session:
            session.execute(text("SELECT 1"))
            session.rollback()
    finally:
        database.dispose()
