"""The read cache: generations per table, bumped after commit; bypassed while Redis is down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, delete, insert, select, text, update

from supplytrack.core.cache import (
    EVERY_TABLE,
    BoundedDict,
    Cache,
    LocalBoard,
    ProcessBoard,
    RedisBoard,
    board_path,
    tables_written,
)
from supplytrack.core.db import Database
from supplytrack.core.settings import Settings
from supplytrack.suppliers.models import Supplier
from tests.fixtures.database import DatabaseFactory, settings_for
from tests.fixtures.factories import Factory
from tests.fixtures.redis_server import OwnRedis


def _generations(
    board: LocalBoard | ProcessBoard | RedisBoard, tables: list[str]
) -> tuple[int, ...]:
    found = board.read(tables)
    assert found is not None
    return found


class _Context:
    """What the cursor events see of a compiled statement."""

    def __init__(self, statement: Any, kind: str) -> None:
        self.compiled = type("Compiled", (), {"statement": statement})()
        self.isinsert = kind == "insert"
        self.isupdate = kind == "update"
        self.isdelete = kind == "delete"


def test_each_kind_of_statement_names_what_it_writes() -> None:
    table = Supplier.__table__
    assert isinstance(table, Table)
    assert tables_written("", _Context(insert(table), "insert")) == "suppliers"
    assert tables_written("", _Context(update(Supplier), "update")) == "suppliers"
    # A delete may cascade through foreign keys: every generation moves.
    assert tables_written("", _Context(delete(table), "delete")) == EVERY_TABLE
    assert tables_written('INSERT INTO "task_instance_history" (a) VALUES (1)', None) == (
        "task_instance_history"
    )
    assert tables_written("update projects set name = 'x'", None) == "projects"
    assert tables_written("DELETE FROM projects", None) == EVERY_TABLE
    assert tables_written("DELETE FROM jobs WHERE id = 1", None) == "jobs"
    assert tables_written("WITH moved AS (UPDATE x SET a = 1) SELECT 1", None) == EVERY_TABLE
    assert tables_written("SELECT * FROM suppliers", None) is None
    assert tables_written("BEGIN IMMEDIATE", None) is None


def test_a_local_board_is_shared_by_everyone_who_opens_its_file(tmp_path: Path) -> None:
    one, other = LocalBoard(tmp_path / "g"), LocalBoard(tmp_path / "g")
    before = _generations(other, ["suppliers", "projects"])
    one.bump(["suppliers"])
    after = _generations(other, ["suppliers", "projects"])
    assert after[1] == before[1] + 1
    assert after[2] == before[2]
    one.bump([EVERY_TABLE])
    assert _generations(other, [])[0] == before[0] + 1


def _cache(tmp_path: Path, **changes: Any) -> Cache:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", **changes)
    return Cache(settings)


def test_a_value_is_reused_until_a_table_it_was_read_from_is_written(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    made: list[int] = []

    def create() -> int:
        made.append(len(made))
        return len(made)

    assert cache.get("n", "k", ["suppliers"], create) == 1
    assert cache.get("n", "k", ["suppliers"], create) == 1
    cache.written(["projects", "jobs"])  # not a table this value was read from
    assert cache.get("n", "k", ["suppliers"], create) == 1
    cache.written(["suppliers"])
    assert cache.get("n", "k", ["suppliers"], create) == 2
    cache.clear()
    assert cache.get("n", "k", ["suppliers"], create) == 3
    assert len(made) == 3


def test_values_refused_by_keep_and_a_disabled_cache_are_never_reused(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    calls: list[None] = []

    def nothing() -> None:
        calls.append(None)

    cache.get("n", "absent", ["api_tokens"], nothing, keep=lambda value: value is not None)
    cache.get("n", "absent", ["api_tokens"], nothing, keep=lambda value: value is not None)
    assert len(calls) == 2

    off = _cache(tmp_path, cache_enabled=False)
    off.get("n", "k", ["suppliers"], nothing)
    off.get("n", "k", ["suppliers"], nothing)
    assert len(calls) == 4


def test_the_memory_backend_is_bounded() -> None:
    bounded = BoundedDict(3)
    for key in range(10):
        bounded[key] = key
    assert list(bounded) == [7, 8, 9]


def test_a_committed_write_bumps_the_tables_it_wrote_and_a_rollback_bumps_nothing(
    database_factory: DatabaseFactory,
) -> None:
    database = Database(settings_for(database_factory.fresh("gen"), redis_url=None))
    board = ProcessBoard()
    database.cache.board = board
    try:
        with database.session_scope() as session:
            Factory(session).supplier()
        assert _generations(board, ["suppliers", "projects"])[1:] == (1, 0)

        session = database.session(write=True)
        session.execute(update(Supplier).values(name="never"))
        session.rollback()
        session.close()
        assert _generations(board, ["suppliers"])[1] == 1

        with database.session_scope() as session:
            session.execute(text("UPDATE projects SET name = name"))
            assert session.scalar(select(Supplier.name)) is not None
        assert _generations(board, ["suppliers", "projects"])[1:] == (1, 1)
    finally:
        database.dispose()


def test_while_its_redis_is_down_the_cache_reads_the_source_then_forgets_the_outage(
    own_redis: OwnRedis, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        redis_url=own_redis.url,
        redis_retry_seconds=0,
    )
    cache = Cache(settings)
    source = {"value": "old"}

    def read() -> bytes:
        return source["value"].encode()

    def load(raw: bytes) -> bytes:
        return raw

    def cached() -> bytes:
        return cache.get("n", "k", ["suppliers"], read, dump=lambda v: v, load=load)

    assert cached() == b"old"
    assert cached() == b"old"
    own_redis.stop()
    source["value"] = "new"
    cache.written(["suppliers"])  # Redis missed this bump
    assert cached() == b"new"  # bypassed: straight from the source
    own_redis.start()  # empty again, as a restarted cache server is
    assert cached() == b"new"
    board = cache.board
    assert isinstance(board, RedisBoard)
    assert _generations(board, [])[0] >= 1  # the missed bump moved the epoch once Redis was back


@pytest.mark.parametrize("down", ["stopped", "silent"])
def test_a_dead_redis_costs_a_cached_read_one_short_timeout_at_most(
    own_redis: OwnRedis, silent_redis: str, tmp_path: Path, down: str
) -> None:
    url = own_redis.url if down == "stopped" else silent_redis
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", redis_url=url, redis_retry_seconds=600
    )
    if down == "stopped":
        own_redis.stop()
    cache = Cache(settings)
    calls: list[int] = []
    for _ in range(5):
        cache.get("n", "k", ["suppliers"], lambda: calls.append(1))
    assert len(calls) == 5  # every read served from the source, none failed


def test_writes_through_sessions_of_the_service_invalidate_its_reads(
    database_factory: DatabaseFactory,
) -> None:
    database = Database(settings_for(database_factory.fresh("reads"), redis_url=None))
    try:
        with database.session_scope() as work:
            supplier = Factory(work).supplier(name="Before")
        supplier_id = supplier.id

        def name() -> str:
            with database.session_scope(write=False) as reading:
                found = reading.get(Supplier, supplier_id)
                assert found is not None
                return found.name

        assert database.cache.get("s", "name", ["suppliers"], name) == "Before"
        with database.session_scope() as work:
            work.execute(update(Supplier).values(name="After"))
        assert database.cache.get("s", "name", ["suppliers"], name) == "After"
    finally:
        database.dispose()


def test_the_board_file_is_beside_the_database_unless_configured(tmp_path: Path) -> None:
    sqlite = Settings(database_url=f"sqlite:///{tmp_path / 'st.db'}")
    assert board_path(sqlite) == tmp_path / "st-cache.generations"
    chosen = tmp_path / "shared" / "board"
    configured = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1/x", cache_board_file=str(chosen)
    )
    assert board_path(configured) == chosen
