"""The read cache: values keyed by the generations of the tables they were read from.

Every cached read names the tables it depends on. Its key carries those tables' current
generations, read from a *board* shared by every process of the deployment; a committed
transaction bumps the generations of the tables it wrote before the request that made it is
answered. So a read after a committed write computes a new key, misses, and reads the
database: no process ever serves a value older than the last committed change, and nothing
has to be deleted (old entries age out by CACHE_TTL_SECONDS, or by the memory bound).

- Without Redis, the board is a small memory-mapped file beside the SQLite database (or in
  the temporary directory), shared by every process of this host; values live in each
  process's memory (dogpile's memory backend, bounded).
- With REDIS_URL, the board is a Redis hash and values live in Redis (dogpile's Redis
  backend), shared by every host. While Redis is down the cache is bypassed (every read goes
  to the database); a process that could not reach Redis bumps a board-wide epoch once it
  can again, so nothing cached before the outage is served after it.

Which tables a transaction wrote is seen by the engine's cursor events (``track_writes``).
A delete, or a statement whose table cannot be told, bumps every generation (foreign keys
cascade deletes into other tables).
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import re
import struct
import tempfile
import threading
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from dogpile.cache import CacheRegion, make_region
from dogpile.cache.api import NO_VALUE
from dogpile.cache.proxy import ProxyBackend
from pydantic import BaseModel
from sqlalchemy import Engine, TextClause, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from supplytrack.core import metrics
from supplytrack.core.redis_client import Breaker, breaker, client, pool, redis_prefix
from supplytrack.core.settings import Settings

log = logging.getLogger("supplytrack.cache")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

EVERY_TABLE = "*"
# Tables no cached read depends on: writing them bumps nothing (the worker writes jobs often).
UNCACHED_TABLES = frozenset({"jobs", "idempotency_keys", "alembic_version"})
_WRITTEN_KEY = "supplytrack_tables_written"
_DML = re.compile(r"^\s*(?:(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+))?", re.IGNORECASE)


class Board(Protocol):
    """Where the generations of the tables are kept, shared by every process."""

    def read(self, tables: Sequence[str]) -> tuple[int, ...] | None:
        """The generations of ``tables`` (with the epoch first); None while unreachable."""

    def bump(self, tables: Iterable[str]) -> None:
        """Move the generations of ``tables`` on (EVERY_TABLE among them: the epoch)."""


class LocalBoard:
    """Generations in a memory-mapped file: a read is two memory loads, a bump one flock.

    The file holds SLOTS 8-byte counters; slot 0 is the epoch and a table's slot is chosen
    by hash (two tables sharing a slot only invalidate each other more often). It is opened
    on first use; while it cannot be (a directory that does not exist yet), reads bypass the
    cache.
    """

    SLOTS = 512

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        self._descriptor = -1
        self._slots: dict[str, int] = {}
        self._lock = threading.Lock()

    def _opened(self) -> mmap.mmap | None:
        if self._map is not None:
            return self._map
        with self._lock:
            if self._map is None:
                try:
                    self._descriptor, self._map = _map_file(self.path, self.SLOTS * 8)
                except OSError as error:
                    log.warning("cache board %s unavailable (%s): cache bypassed", self.path, error)
        return self._map

    def _slot(self, table: str) -> int:
        slot = self._slots.get(table)
        if slot is None:
            slot = 0 if table == EVERY_TABLE else zlib.crc32(table.encode()) % (self.SLOTS - 1) + 1
            self._slots[table] = slot
        return slot

    def read(self, tables: Sequence[str]) -> tuple[int, ...] | None:
        """The epoch, then the generation of each table (None while the file cannot be had)."""
        board = self._opened()
        if board is None:
            return None
        unpack = struct.unpack_from
        return (
            unpack("<q", board, 0)[0],
            *(unpack("<q", board, self._slot(table) * 8)[0] for table in tables),
        )

    def bump(self, tables: Iterable[str]) -> None:
        """Add one to each table's counter, under the file's lock."""
        board = self._opened()
        if board is None:
            return  # nobody can have cached anything under this board either
        slots = {self._slot(table) for table in tables}
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            for slot in slots:
                (value,) = struct.unpack_from("<q", board, slot * 8)
                struct.pack_into("<q", board, slot * 8, value + 1)
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)


def _map_file(path: Path, size: int) -> tuple[int, mmap.mmap]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            if os.fstat(descriptor).st_size < size:
                os.ftruncate(descriptor, size)
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
        return descriptor, mmap.mmap(descriptor, size)
    except BaseException:
        os.close(descriptor)
        raise


class ProcessBoard:
    """Generations in this process only: for a database no other process can open (:memory:)."""

    def __init__(self) -> None:
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def read(self, tables: Sequence[str]) -> tuple[int, ...]:
        """The epoch, then the generation of each table."""
        get = self._generations.get
        return (get(EVERY_TABLE, 0), *(get(table, 0) for table in tables))

    def bump(self, tables: Iterable[str]) -> None:
        """Add one to each table's generation."""
        with self._lock:
            for table in set(tables):
                self._generations[table] = self._generations.get(table, 0) + 1


class RedisBoard:
    """Generations in one Redis hash of the deployment's namespace, behind the breaker."""

    def __init__(self, settings: Settings) -> None:
        self.key = f"{redis_prefix(settings)}:cache:generations"
        self._client = client(settings)
        self._breaker: Breaker = breaker("cache", "Redis (cache)", settings)
        self._owed = False  # Redis missed a bump (or was down): bump the epoch first

    def _missed(self) -> None:
        self._owed = True

    def read(self, tables: Sequence[str]) -> tuple[int, ...] | None:
        """The epoch and the tables' generations in one round trip; None while Redis is down."""

        def fetch() -> tuple[int, ...]:
            pipe = self._client.pipeline(transaction=False)
            owed = self._owed
            if owed:
                pipe.hincrby(self.key, EVERY_TABLE, 1)
            pipe.hmget(self.key, [EVERY_TABLE, *tables])
            values = pipe.execute()[-1]
            if owed:
                self._owed = False
            return tuple(int(value or 0) for value in values)

        def unavailable() -> None:
            self._missed()

        return self._breaker.call(fetch, unavailable)

    def bump(self, tables: Iterable[str]) -> None:
        """HINCRBY each table (and the epoch, when a bump was missed) in one round trip."""
        names = set(tables)
        if self._owed:
            names.add(EVERY_TABLE)

        def send() -> None:
            pipe = self._client.pipeline(transaction=False)
            for name in names:
                pipe.hincrby(self.key, name, 1)
            pipe.execute()
            self._owed = False

        self._breaker.call(send, self._missed)


class BoundedDict(OrderedDict[Any, Any]):
    """The memory backend's dictionary: least recently stored entries go beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._lock = threading.Lock()

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)
            self.move_to_end(key)
            while len(self) > self.limit:
                self.popitem(last=False)


class _Guarded(ProxyBackend):
    """The Redis backend behind the breaker: a failed get is a miss, a failed set is skipped."""

    def __init__(self, guard: Breaker) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._guard = guard

    def get_serialized(self, key: Any) -> Any:
        return self._guard.call(lambda: self.proxied.get_serialized(key), lambda: NO_VALUE)

    def set_serialized(self, key: Any, value: Any) -> None:
        self._guard.call(lambda: self.proxied.set_serialized(key, value), lambda: None)


def _identity(value: Any) -> Any:
    return value


class Cache:
    """The process's read cache for one deployment (see the module's docstring)."""

    def __init__(self, settings: Settings, board: Board | None = None) -> None:
        self.enabled = settings.cache_enabled
        self.ttl = settings.cache_ttl_seconds
        self.shared = bool(settings.redis_url)
        self.board: Board = board or _board(settings)
        self.region = self._region(settings)

    def _region(self, settings: Settings) -> CacheRegion:
        if not self.shared:
            return make_region().configure(
                "dogpile.cache.memory",
                expiration_time=self.ttl,
                arguments={"cache_dict": BoundedDict(settings.cache_max_entries)},
            )
        # Values are bytes we made (JSON), never pickles: identity (de)serializers.
        region = make_region(serializer=_identity, deserializer=_identity)
        return region.configure(
            "dogpile.cache.redis",
            expiration_time=self.ttl,
            arguments={
                "connection_pool": pool(settings),
                "redis_expiration_time": self.ttl + 5,
                "thread_local_lock": False,
            },
            wrap=[_Guarded(breaker("cache", "Redis (cache)", settings))],
        )

    def get(
        self,
        namespace: str,
        key: str,
        tables: Sequence[str],
        create: Callable[[], T],
        *,
        dump: Callable[[T], bytes] | None = None,
        load: Callable[[bytes], T] | None = None,
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """The value of ``key`` as of the tables' current generations; ``create()`` on a miss.

        ``dump``/``load`` turn the value into bytes and back where values leave the process
        (Redis); ``keep`` says whether a created value may be cached at all.
        """
        if not self.enabled:
            return create()
        generations = self.board.read(tables)
        if generations is None:
            metrics.cache_lookup(namespace, "bypass")
            return create()
        full_key = f"{namespace}:{'.'.join(map(str, generations))}:{key}"
        created: list[T] = []

        def make() -> Any:
            value = create()
            created.append(value)
            return dump(value) if self.shared and dump is not None else value

        def worth_keeping(stored: Any) -> bool:
            return keep is None or not created or keep(created[0])

        stored = self.region.get_or_create(full_key, make, should_cache_fn=worth_keeping)
        if created:
            metrics.cache_lookup(namespace, "miss")
            return created[0]
        metrics.cache_lookup(namespace, "hit")
        if self.shared and load is not None:
            return load(stored)
        value: T = stored
        return value

    def model(
        self,
        namespace: str,
        key: str,
        tables: Sequence[str],
        kind: type[M],
        create: Callable[[], M],
    ) -> M:
        """A cached pydantic model (as JSON where it leaves the process)."""
        return self.get(
            namespace,
            key,
            tables,
            create,
            dump=lambda value: value.model_dump_json(by_alias=True).encode(),
            load=kind.model_validate_json,
        )

    def written(self, tables: Iterable[str]) -> None:
        """Invalidate what was read from ``tables`` (called once their writes committed)."""
        wanted = {table for table in tables if table not in UNCACHED_TABLES}
        if not wanted:
            return
        self.board.bump(wanted)
        for table in wanted:
            metrics.cache_invalidation(table)

    def clear(self) -> None:
        """Invalidate everything (after changes made outside the service, such as a restore)."""
        self.written([EVERY_TABLE])


def _board(settings: Settings) -> Board:
    if settings.redis_url:
        return RedisBoard(settings)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database in {None, "", ":memory:"}:
        return ProcessBoard()  # no other process can open this database
    return LocalBoard(board_path(settings))


def board_path(settings: Settings) -> Path:
    """The local board's file: CACHE_BOARD_FILE, beside the SQLite database, else in tmp.

    Every process of the deployment must open the same file (a systemd unit with PrivateTmp
    has a /tmp of its own: set CACHE_BOARD_FILE, or use Redis).
    """
    if settings.cache_board_file:
        return Path(settings.cache_board_file)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        database = Path(url.database).absolute()
        return database.with_name(f"{database.stem}-cache.generations")
    return Path(tempfile.gettempdir()) / f"{redis_prefix(settings)}-cache.generations"


def tables_written(statement: str, context: Any) -> str | None:
    """The table a statement writes, EVERY_TABLE when unsure (and for deletes), None for reads."""
    compiled = getattr(context, "compiled", None)
    if compiled is not None and (context.isinsert or context.isupdate or context.isdelete):
        name = getattr(getattr(compiled.statement, "table", None), "name", None)
        if not isinstance(name, str):
            return EVERY_TABLE
        return EVERY_TABLE if context.isdelete and name not in UNCACHED_TABLES else name
    if compiled is not None and not isinstance(compiled.statement, TextClause):
        return None  # SQLAlchemy built it and knows it is no insert, update or delete
    match = _DML.match(statement)
    if match is None or match.group(1) is None:
        words = statement.split(None, 1)
        first = words[0].upper() if words else ""
        return EVERY_TABLE if first in {"WITH", "MERGE", "TRUNCATE", "REPLACE"} else None
    name = match.group(2).lower()
    if match.group(1).upper().startswith("DELETE") and name not in UNCACHED_TABLES:
        return EVERY_TABLE
    return name


_TRACKED: weakref.WeakSet[Engine] = weakref.WeakSet()


def track_writes(engine: Engine) -> None:
    """Collect, per transaction, the tables its statements write (once per engine).

    A session transaction leaves a set in its connection's info (``invalidate_on_commit``);
    the cursor events add each written table to it.
    """
    if engine in _TRACKED:
        return
    _TRACKED.add(engine)

    @event.listens_for(engine, "after_cursor_execute")
    def _executed(
        conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        written: set[str] | None = conn.info.get(_WRITTEN_KEY)
        if written is not None:
            table = tables_written(statement, context)
            if table is not None:
                written.add(table)


def invalidate_on_commit(target: sessionmaker[Session] | Session, cache: Cache) -> None:
    """Bump the generations of what each committed transaction of ``target`` wrote.

    Right after the commit, so before the request that made it is answered.
    """

    @event.listens_for(target, "after_begin")
    def _begun(session: Session, _transaction: Any, connection: Connection) -> None:
        written: set[str] = set()
        connection.info[_WRITTEN_KEY] = written
        session.info.setdefault(_WRITTEN_KEY, []).append(written)

    @event.listens_for(target, "after_commit")
    def _committed(session: Session) -> None:
        tables: set[str] = set()
        for written in session.info.pop(_WRITTEN_KEY, ()):
            tables |= written
            written.clear()
        if tables:
            cache.written(tables)

    @event.listens_for(target, "after_rollback")
    def _rolled_back(session: Session) -> None:
        for written in session.info.pop(_WRITTEN_KEY, ()):
            written.clear()
