"""The hash chains of the history and the audit log, their checkpoints, and `audit verify`.

Each tampering a database superuser could do past the triggers is made by hand and must be
named by verify: the table, the chain, the row, what is wrong.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from supplytrack.audit import chain as audit_chain
from supplytrack.audit.models import AuditEntity, AuditLog, ChangeSource
from supplytrack.auth.service import USAGE, TokenService
from supplytrack.cli import app as cli
from supplytrack.core import chain
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.settings import Settings, get_settings
from supplytrack.demo.generator import load_demo_data
from supplytrack.demo.plan import Scale
from supplytrack.flows.checks import context_of
from supplytrack.integrity.checks import BY_NAME, run_check
from supplytrack.main import create_app
from tests.fixtures.database import DatabaseFactory, is_postgres, settings_for

KEY = "k" * 40
OTHER_KEY = "o" * 40
TINY = Scale("tiny", 1, 4, (5, 5), (3, 3), 5_000)


@pytest.fixture
def demo(database_factory: DatabaseFactory) -> Iterator[Database]:
    """A database of its own with a small demo set (history) and audit rows."""
    url = database_factory.fresh("chain")
    database = Database(settings_for(url, redis_url=None, audit_signing_key=KEY))
    load_demo_data(database, TINY, 5, date(2026, 6, 1))
    with database.session_scope() as session:
        for n in range(3):
            session.add(
                AuditLog(
                    entity=AuditEntity.SUPPLIER,
                    entity_id=1,
                    field="status",
                    old_value=None if n == 0 else f"S{n - 1}",
                    new_value=f"S{n}",
                    actor="test",
                    source=ChangeSource.SYSTEM,
                )
            )
        session.add(
            AuditLog(
                entity=AuditEntity.PROJECT,
                entity_id=1,
                field="name",
                old_value="",  # empty, not NULL
                new_value="a|b",
                actor="test",
                source=ChangeSource.API,
            )
        )
    yield database
    database.dispose()


def _verify(database: Database, **overrides: Any) -> audit_chain.Report:
    settings = database.settings.model_copy(update=overrides) if overrides else database.settings
    with database.session_scope() as session:
        return audit_chain.verify(session, settings)


def _tamper(database: Database, *statements: str, **values: Any) -> None:
    """Run statements past the append-only guards, as a superuser could."""
    with database.engine.begin() as connection:
        if is_postgres():  # the suite connects as the postgres superuser
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for table in ("task_instance_history", "audit_log", "audit_checkpoints"):
                for action in ("update", "delete"):
                    connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        for statement in statements:
            connection.execute(text(statement), values)


def _chain_rows(database: Database, minimum: int = 3) -> list[tuple[int, int]]:
    """(instance, id) of the rows of a history chain of at least ``minimum`` rows."""
    with database.engine.connect() as connection:
        instance = connection.execute(
            text(
                "SELECT task_instance_id FROM task_instance_history GROUP BY task_instance_id"
                " HAVING count(*) >= :n ORDER BY task_instance_id LIMIT 1"
            ),
            {"n": minimum},
        ).scalar_one()
        ids = connection.execute(
            text("SELECT id FROM task_instance_history WHERE task_instance_id = :i ORDER BY id"),
            {"i": instance},
        ).scalars()
        return [(instance, row_id) for row_id in ids]


def _only_break(report: audit_chain.Report) -> audit_chain.Break:
    found = report.first_breaks()
    assert not report.ok
    assert len(found) == 1, [item.line() for item in found]
    return found[0]


def test_every_row_is_hashed_and_verify_passes(demo: Database) -> None:
    report = _verify(demo)
    assert report.ok, [item.line() for item in report.first_breaks()]
    history, audit = report.tables
    assert history.rows > 50
    assert history.chains > 10
    assert (audit.rows, audit.chains) == (4, 2)
    with demo.engine.connect() as connection:
        missing = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM task_instance_history WHERE row_hash IS NULL)"
                " + (SELECT count(*) FROM audit_log WHERE row_hash IS NULL)"
            )
        ).scalar_one()
        # The first row of each chain has no predecessor, every other row names one.
        starts = connection.execute(
            text("SELECT count(*) FROM task_instance_history WHERE prev_hash IS NULL")
        ).scalar_one()
    assert missing == 0
    assert starts == history.chains


def test_the_database_and_python_hash_the_same_canonical_text(demo: Database) -> None:
    with demo.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT row_hash, prev_hash, "
                + ", ".join(chain.AUDIT.columns)
                + " FROM audit_log WHERE entity = 'PROJECT'"
            )
        ).one()
    canonical = chain.canonical_text(chain.AUDIT, tuple(row[2:]), row[1])
    assert "|0:|" in canonical  # old_value: empty text
    assert "|3:a|b|" in canonical
    assert canonical.endswith("|~")  # the chain's first row: no predecessor
    assert chain.row_hash(chain.AUDIT, tuple(row[2:]), row[1]) == row[0]


@pytest.mark.skipif(not is_postgres(), reason="the session time zone is PostgreSQL's")
def test_the_session_time_zone_does_not_change_the_hash(demo: Database) -> None:
    with demo.engine.begin() as connection:
        connection.execute(text("SET LOCAL TimeZone = 'Pacific/Chatham'"))
        connection.execute(
            text(
                "INSERT INTO audit_log (entity, entity_id, field, changed_at, actor, source)"
                " VALUES ('SUPPLIER', 1, 'tz', TIMESTAMP '2026-03-01 23:30:00.5', 'tz', 'API')"
            )
        )
    assert _verify(demo).ok


def test_a_row_changed_past_the_triggers_is_named(demo: Database) -> None:
    instance, middle = _chain_rows(demo)[1]
    _tamper(demo, "UPDATE task_instance_history SET actor = 'mallory' WHERE id = :i", i=middle)
    found = _only_break(_verify(demo))
    assert (found.table, found.chain, found.row_id, found.problem) == (
        "task_instance_history",
        str(instance),
        middle,
        audit_chain.CONTENT_CHANGED,
    )


def test_a_row_changed_with_its_hash_recomputed_breaks_the_next_link(demo: Database) -> None:
    rows = _chain_rows(demo)
    instance, middle = rows[1]
    _, after = rows[2]
    with demo.engine.connect() as connection:
        row = connection.execute(
            text(
                f"SELECT prev_hash, {', '.join(chain.HISTORY.columns)}"
                " FROM task_instance_history WHERE id = :i"
            ),
            {"i": middle},
        ).one()
    values = list(row[1:])
    values[chain.HISTORY.columns.index("actor")] = "mallory"
    forged = chain.row_hash(chain.HISTORY, values, row[0])
    _tamper(
        demo,
        "UPDATE task_instance_history SET actor = 'mallory', row_hash = :h WHERE id = :i",
        h=forged,
        i=middle,
    )
    found = _only_break(_verify(demo))
    assert (found.chain, found.row_id, found.problem) == (
        str(instance),
        after,
        audit_chain.LINK_BROKEN,
    )


def test_a_deleted_row_is_named_at_the_row_after_it(demo: Database) -> None:
    rows = _chain_rows(demo)
    instance, middle = rows[1]
    _tamper(demo, "DELETE FROM task_instance_history WHERE id = :i", i=middle)
    found = _only_break(_verify(demo))
    assert (found.table, found.chain, found.row_id, found.problem) == (
        "task_instance_history",
        str(instance),
        rows[2][1],
        audit_chain.LINK_BROKEN,
    )
    assert f"row {rows[0][1]}" in found.detail


def test_a_reordered_row_is_named(demo: Database) -> None:
    rows = _chain_rows(demo)
    instance = rows[0][0]
    first, second = rows[0][1], rows[1][1]
    # Swap the two rows' places in the chain (their ids), keeping everything else.
    _tamper(
        demo,
        "UPDATE task_instance_history SET id = -1 WHERE id = :a",
        "UPDATE task_instance_history SET id = :a WHERE id = :b",
        "UPDATE task_instance_history SET id = :b WHERE id = -1",
        a=first,
        b=second,
    )
    found = _only_break(_verify(demo))
    assert (found.chain, found.row_id, found.problem) == (
        str(instance),
        first,
        audit_chain.CONTENT_CHANGED,
    )


def test_an_audit_log_row_changed_or_deleted_is_named(demo: Database) -> None:
    with demo.engine.connect() as connection:
        ids = list(
            connection.execute(
                text("SELECT id FROM audit_log WHERE entity = 'SUPPLIER' ORDER BY id")
            ).scalars()
        )
    _tamper(demo, "DELETE FROM audit_log WHERE id = :i", i=ids[0])
    found = _only_break(_verify(demo))
    assert (found.table, found.chain, found.row_id, found.problem) == (
        "audit_log",
        "SUPPLIER:1",
        ids[1],
        audit_chain.LINK_BROKEN,
    )
    assert "none" in found.detail  # the chain's first row left points to a deleted one


def _checkpoint(database: Database, **overrides: Any) -> audit_chain.AuditCheckpoint:
    settings = database.settings.model_copy(update=overrides) if overrides else database.settings
    with database.session_scope() as session:
        made = audit_chain.make_checkpoint(session, settings, datetime.now(UTC), grace=timedelta(0))
        session.expunge(made)
        return made


def test_a_deleted_chain_head_covered_by_a_checkpoint_is_named(demo: Database) -> None:
    rows = _chain_rows(demo)
    made = _checkpoint(demo)
    assert made.history_boundary >= rows[-1][1]
    assert made.history_rows > 50
    assert _verify(demo).ok
    # The newest row of the chain: no later link points at it, only the checkpoint does.
    _tamper(demo, "DELETE FROM task_instance_history WHERE id = :i", i=rows[-1][1])
    found = _only_break(_verify(demo))
    assert (found.table, found.row_id, found.problem) == (
        "task_instance_history",
        made.id,
        audit_chain.CHECKPOINT_HEADS,
    )
    assert f"{made.history_rows - 1} rows there now" in found.detail


def test_checkpoints_chain_and_a_wrong_key_or_signature_fails(demo: Database) -> None:
    first = _checkpoint(demo)
    with demo.session_scope() as session:
        session.add(
            AuditLog(
                entity=AuditEntity.SUPPLIER,
                entity_id=2,
                field="status",
                actor="test",
                source=ChangeSource.API,
            )
        )
    second = _checkpoint(demo)
    assert second.previous_signature == first.signature
    assert (second.audit_rows, second.history_rows) == (1, 0)
    assert _verify(demo).ok
    found = _verify(demo, audit_signing_key=SecretStr(OTHER_KEY)).checkpoint_breaks
    assert [item.problem for item in found] == [audit_chain.UNKNOWN_KEY] * 2
    # The previous key still verifies what it signed.
    rotated = _verify(
        demo,
        audit_signing_key=SecretStr(OTHER_KEY),
        audit_signing_previous_keys=SecretStr(f"x,{KEY}"),
    )
    assert rotated.ok
    _tamper(demo, "UPDATE audit_checkpoints SET audit_rows = 5 WHERE id = :i", i=second.id)
    problems = {item.problem for item in _verify(demo).checkpoint_breaks}
    assert problems == {audit_chain.SIGNATURE, audit_chain.CHECKPOINT_HEADS}


def test_a_checkpoint_covers_only_ids_seen_a_grace_period_ago(demo: Database) -> None:
    now = datetime.now(UTC)
    with demo.session_scope() as session:
        early = audit_chain.make_checkpoint(session, demo.settings, now - timedelta(hours=1))
        assert (early.history_boundary, early.audit_boundary) == (0, 0)  # nothing settled yet
        marks = (early.history_mark, early.audit_mark)
        later = audit_chain.make_checkpoint(session, demo.settings, now)
        assert (later.history_boundary, later.audit_boundary) == marks
    assert _verify(demo).ok


def test_no_key_no_checkpoint(demo: Database) -> None:
    with demo.session_scope() as session, pytest.raises(audit_chain.CheckpointError):
        audit_chain.make_checkpoint(
            session, demo.settings.model_copy(update={"audit_signing_key": None}), datetime.now(UTC)
        )


def test_the_data_check_counts_the_breaks(demo: Database) -> None:
    check = BY_NAME["hash_chains"]
    with demo.session_scope() as session:
        assert run_check(session, check, context_of(demo.settings))["failures"] == 0
    _, middle = _chain_rows(demo)[1]
    _tamper(demo, "UPDATE task_instance_history SET reason = 'x' WHERE id = :i", i=middle)
    with demo.session_scope() as session:
        outcome = run_check(session, check, context_of(demo.settings))
    assert outcome["failures"] == 1
    assert outcome["examples"][0]["row_id"] == middle


def test_the_cli_verifies_and_checkpoints(demo: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", demo.settings.database_url)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", KEY)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        made = runner.invoke(cli, ["audit", "checkpoint", "--grace", "0"])
        assert made.exit_code == 0, made.output
        good = runner.invoke(cli, ["audit", "verify", "--json"])
        assert good.exit_code == 0, good.output
        assert '"ok": true' in good.output
        instance, middle = _chain_rows(demo)[1]
        _tamper(demo, "UPDATE task_instance_history SET actor = 'x' WHERE id = :i", i=middle)
        bad = runner.invoke(cli, ["audit", "verify"])
        assert bad.exit_code == 1, bad.output
        assert f"task_instance_history chain {instance} row {middle}: content changed" in (
            bad.output.replace("\n", " ")
        )
    finally:
        get_settings.cache_clear()


@pytest.mark.skipif(not is_postgres(), reason="concurrent writers are PostgreSQL's")
def test_concurrent_patches_of_one_instance_keep_one_chain(demo: Database) -> None:
    settings: Settings = demo.settings
    with demo.session_scope() as session:
        _, token = TokenService(session).create("chain", Role.ADMIN, None)
        instance = session.execute(
            text("SELECT id FROM task_instances ORDER BY id LIMIT 1")
        ).scalar_one()
    USAGE.forget()
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(settings.model_copy(update={"rate_limit_default": "off"}), demo)
    done: list[int] = []
    failures: list[str] = []

    def writer(n: int) -> None:
        with TestClient(app) as client:
            for step in range(5):
                answer = client.patch(
                    f"/api/task-instances/{instance}",
                    headers=headers,
                    json={"notes": f"writer {n} step {step}"},
                )
                if answer.status_code == 200:
                    done.append(n)
                elif answer.status_code not in (409, 412, 503):
                    failures.append(answer.text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert len(done) >= 4
    report = _verify(demo)
    assert report.ok, [item.line() for item in report.first_breaks()]
    with demo.engine.connect() as connection:
        notes = connection.execute(
            text(
                "SELECT count(*) FROM task_instance_history"
                " WHERE task_instance_id = :i AND field = 'NOTES'"
            ),
            {"i": instance},
        ).scalar_one()
    assert notes == len(done)
