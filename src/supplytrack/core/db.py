"""The database: one engine per process, sessions, SQLite pragmas, transient-error retry."""

from __future__ import annotations

import logging
import random
import select as io_select
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeVar
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import (
    Date,
    Engine,
    Integer,
    Row,
    Select,
    String,
    any_,
    bindparam,
    create_engine,
    event,
    exc,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool, StaticPool

from supplytrack.core import chain, metrics
from supplytrack.core.cache import Cache, invalidate_on_commit, track_writes
from supplytrack.core.context import current_context
from supplytrack.core.rowsecurity import (
    SCOPE_STATEMENT,
    SCOPE_STATEMENT_POSITIONAL,
    Scope,
    current_scope,
    forget_scope,
    scope_every_transaction,
)
from supplytrack.core.settings import Settings
from supplytrack.core.watchdog import WATCHDOG
from supplytrack.core.writer_gate import gate_for

log = logging.getLogger("supplytrack.db")

T = TypeVar("T")
# A query or result row of any columns (SQLAlchemy 2.1 types them column by column).
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

WRITE_OPTION = "supplytrack_write"
# Where core.queue.after_commit() keeps the work to run once a transaction has committed.
AFTER_COMMIT_KEY = "supplytrack_after_commit"
# PostgreSQL SQLSTATEs worth a retry: serialization failure, deadlock, lock timeout.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}
_SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")


def create_db_engine(url: str, settings: Settings, role: str = "primary") -> Engine:
    """Create the engine for ``url`` with the pool, timeouts and pragmas of ``settings``.

    ``role`` (primary, replica) labels its pool in /metrics.
    """
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, settings)
    else:
        engine = create_engine(
            url,
            hide_parameters=True,
            poolclass=TimedQueuePool,
            pool_size=settings.database_connection_limit,
            max_overflow=max(1, settings.database_connection_limit // 2),
            pool_timeout=settings.database_timeout / 1000,
            pool_recycle=1800,
            connect_args={
                "connect_timeout": max(1, settings.database_timeout // 1000),
                "options": (
                    f"-c lock_timeout={settings.database_timeout}"
                    f" -c statement_timeout={settings.database_statement_timeout}"
                    " -c timezone=UTC"
                ),
                "application_name": "supplytrack",
            },
        )
        _ping_when_idle(engine, settings)
        scope_every_transaction(engine)
    _count_queries(engine, settings.slow_query_ms)
    _watch_pool(engine, role)
    _bound_calls(engine, settings)
    return engine


class TimedQueuePool(QueuePool):
    """QueuePool that records how long each checkout waited (supplytrack_db_pool_wait_seconds)."""

    def _do_get(self) -> ConnectionPoolEntry:
        started = time.perf_counter()
        try:
            return super()._do_get()
        finally:
            metrics.DB_POOL_WAIT.observe(time.perf_counter() - started)


def pool_size(engine: Engine) -> int:
    """The connections an engine's pool keeps (1 for SQLite's in-memory static pool)."""
    size = getattr(engine.pool, "size", None)
    return int(size()) if callable(size) else 1


def _watch_pool(engine: Engine, role: str) -> None:
    """Keep the pool gauges of /metrics current: size, connections in use, overflow.

    Set from the pool's own counts at every checkout and checkin (not counted up and down,
    which a checkout that fails half-way would skew).
    """
    pool = engine.pool
    metrics.DB_POOL_SIZE.labels(role).set(pool_size(engine))
    checked_out = getattr(pool, "checkedout", None)
    overflow = getattr(pool, "overflow", None)

    def _update(*_args: Any) -> None:
        if callable(checked_out):
            metrics.DB_POOL_CHECKED_OUT.labels(role).set(max(0, int(checked_out())))
        if callable(overflow):
            metrics.DB_POOL_OVERFLOW.labels(role).set(max(0, int(overflow())))

    event.listen(engine, "checkout", _update)
    event.listen(engine, "checkin", _update)


# A statement may run this much past DATABASE_STATEMENT_TIMEOUT before it is cut client-side,
# so that on a server that still answers, its own statement_timeout ends it (cleanly) first.
CUT_GRACE_SECONDS = 1.0


def call_budget(settings: Settings) -> float:
    """Seconds a database call may take before the watchdog cuts it (0: unbounded)."""
    if not settings.database_statement_timeout:
        return 0.0
    return settings.database_statement_timeout / 1000 + CUT_GRACE_SECONDS


def _budget(limit: float) -> float:
    request = current_context()
    if request is not None and request.deadline is not None:
        return min(limit, request.deadline - time.monotonic())
    return limit


def _bound_calls(engine: Engine, settings: Settings) -> None:
    """Arm every statement, commit and rollback with a deadline (core/watchdog.py)."""
    limit = call_budget(settings)
    if not limit:
        return
    sqlite = engine.dialect.name == "sqlite"  # interrupted, not cut: the connection lives on

    def dbapi_of(conn: Any) -> Any:
        return conn.connection.dbapi_connection

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, _cursor: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        dbapi = dbapi_of(conn)
        WATCHDOG.arm(id(dbapi), _budget(limit), dbapi)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, _cursor: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        WATCHDOG.disarm(id(dbapi_of(conn)))

    @event.listens_for(engine, "handle_error")
    def _timed_out(context: Any) -> None:
        connection = context.connection
        dbapi = None if connection is None else connection.connection.dbapi_connection
        cut = False
        if dbapi is not None:
            WATCHDOG.disarm(id(dbapi))
            cut = WATCHDOG.fired(id(dbapi))
        if cut and not sqlite:
            context.is_disconnect = True  # the socket is gone: never hand it out again
        if (cut or _is_statement_timeout(context.original_exception)) and (
            context.sqlalchemy_exception is not None
        ):
            context.sqlalchemy_exception.supplytrack_timeout = True

    dialect = engine.dialect
    for name in ("do_commit", "do_rollback"):
        original = getattr(dialect, name)

        def bounded(dbapi_connection: Any, _original: Any = original) -> None:
            WATCHDOG.arm(id(dbapi_connection), _budget(limit), dbapi_connection)
            try:
                _original(dbapi_connection)
            finally:
                WATCHDOG.disarm(id(dbapi_connection))

        setattr(dialect, name, bounded)


def _is_statement_timeout(error: BaseException | None) -> bool:
    if error is None:
        return False
    if getattr(error, "sqlstate", None) == "57014":  # query_canceled: statement_timeout
        return True
    return isinstance(error, sqlite3.OperationalError) and "interrupted" in str(error)


def is_timeout(error: BaseException) -> bool:
    """Whether ``error`` is a database call that ran out of time (answer 503, do not retry)."""
    return bool(getattr(error, "supplytrack_timeout", False)) or _is_statement_timeout(
        getattr(error, "orig", None)
    )


IDLE_BEFORE_PING = 30.0  # seconds


def _ping_when_idle(engine: Engine, settings: Settings) -> None:
    """Test a pooled connection before use only when it may have died (a lazier pre-ping).

    pool_pre_ping sends a round trip at every checkout: a request that opens two sessions
    paid two. A connection the server (or anything between) closed has its end-of-stream
    waiting on the socket: one ``select`` with no timeout sees that. So the round trip is
    sent only when the socket has something to read, or the connection sat idle for long
    (where a silent network drop is possible); a dead connection is never handed out.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi: Any, record: Any) -> None:
        record.info["supplytrack_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("supplytrack_idle_since")
        try:
            if since is not None and time.monotonic() - since < IDLE_BEFORE_PING:
                readable, _, _ = io_select.select([dbapi_connection.fileno()], [], [], 0)
                if not readable:
                    return
            limit = call_budget(settings)
            if limit:
                WATCHDOG.arm(id(dbapi_connection), _budget(limit), dbapi_connection)
            try:
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute("SELECT 1")
                finally:
                    cursor.close()
                dbapi_connection.rollback()
            finally:
                WATCHDOG.disarm(id(dbapi_connection))
        except Exception as error:
            # The pool throws the connection away and checks out another (up to 3 times).
            raise exc.DisconnectionError(type(error).__name__) from error


def _sqlite_engine(url: str, settings: Settings) -> Engine:
    in_memory = url.endswith(":memory:") or url.rstrip("/").endswith("sqlite+pysqlite:")
    # hide_parameters: error messages (and so logs) never carry the values of a statement.
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}, "hide_parameters": True}
    if in_memory:
        kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(
            poolclass=TimedQueuePool,
            pool_size=settings.database_connection_limit,
            max_overflow=max(1, settings.database_connection_limit // 2),
            pool_timeout=settings.database_timeout / 1000,
        )
    engine = create_engine(url, **kwargs)
    busy_ms = settings.database_timeout
    zone = settings.app_timezone

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Take transaction control away from the sqlite3 module so that we can BEGIN
        # IMMEDIATE for writes (no lock upgrade deadlocks) and plain BEGIN for reads.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        # nosemgrep: sql-built-from-strings - an int
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # Reports need the calendar day of an instant in APP_TIMEZONE; SQLite has no time
        # zones, so Python does it (see reports/dialect.py).
        dbapi_connection.create_function(
            LOCAL_DATE_FUNCTION, 1, sqlite_local_date(zone), deterministic=True
        )
        # SQLite's lower() folds ASCII only: searches for 'Ölwerk' or 'ÅSA' would never match.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    gate = None if in_memory else gate_for(url.split(":///", 1)[-1])
    gate_timeout = settings.database_timeout / 1000

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        if write and gate is not None:
            record = connection.connection._connection_record
            if record is not None and not record.info.get(_GATED):
                if not gate.acquire(gate_timeout):
                    raise exc.OperationalError(
                        "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
                    )
                record.info[_GATED] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    if gate is not None:

        @event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi: object, record: Any) -> None:
            # The transaction has ended (committed, or rolled back on the way in).
            if record.info.pop(_GATED, False):
                gate.release()

        @event.listens_for(engine, "close")
        def _on_close(_dbapi: object, record: Any) -> None:
            if record.info.pop(_GATED, False):
                gate.release()

        @event.listens_for(engine, "invalidate")
        def _on_invalidate(_dbapi: object, record: Any, _error: object) -> None:
            if record.info.pop(_GATED, False):
                gate.release()

    return engine


LOCAL_DATE_FUNCTION = "st_local_date"


@event.listens_for(Engine, "connect")
def _chain_function(dbapi_connection: object, _record: object) -> None:
    """Every SQLite connection of this process gets st_chain_hash (core/chain.py).

    The audit tables' insert triggers call it, so any engine may add history rows (the
    service's, Alembic's, a test's plain create_engine()); a program without it cannot.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        chain.register_sqlite(dbapi_connection.create_function)


_GATED = "supplytrack_writer_gate"


def sqlite_local_date(zone: str) -> Callable[[str | None], str | None]:
    """The function SQLite calls as st_local_date(instant): the instant's day in ``zone``."""
    tz = ZoneInfo(zone)

    def convert(stored: str | None) -> str | None:
        if stored is None:
            return None
        moment = datetime.fromisoformat(stored).replace(tzinfo=UTC)
        return moment.astimezone(tz).date().isoformat()

    return convert


def _unicode_lower(value: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return value.lower() if isinstance(value, str) else value


def _count_queries(engine: Engine, slow_query_ms: int) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        _conn: Connection, _cursor: Any, _stmt: str, _params: Any, context: Any, _many: bool
    ) -> None:
        request = current_context()
        if request is not None:
            request.query_count += 1
        if context is not None:
            context._supplytrack_started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(
        _conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        started = getattr(context, "_supplytrack_started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        metrics.QUERY_DURATION.observe(elapsed)
        elapsed_ms = elapsed * 1000
        if slow_query_ms and elapsed_ms >= slow_query_ms:
            metrics.SLOW_QUERIES.inc()
            # The statement only: parameters may hold personal data.
            metrics.slow_statement(statement, elapsed_ms)
            log.warning(
                "slow query",
                extra={"duration_ms": round(elapsed_ms, 1), "statement": statement[:500]},
            )


class _RawExecution:
    """Stands in for SQLAlchemy's execution context in a bare cursor's cursor events."""

    __slots__ = ("_supplytrack_started",)


class _RawConnection:
    """Stands in for SQLAlchemy's Connection in a bare cursor's events (what listeners read)."""

    __slots__ = ("connection", "engine", "info")
    bare = True  # its cursor sets the row-level security scope itself (core/rowsecurity.py)

    def __init__(self, pooled: Any, engine: Engine) -> None:
        self.connection = pooled  # as Connection.connection: the pool's connection
        self.engine = engine
        self.info = pooled.info


class ObservedCursor:
    """A bare DBAPI cursor whose executions fire the engine's cursor events.

    The hot reads skip SQLAlchemy's execution machinery, not its observers: query counts,
    slow-query logs (and the tests' statement recorders) see their statements too.
    """

    def __init__(
        self, cursor: Any, pooled: Any, engine: Engine, scope: Scope | None = None
    ) -> None:
        self._cursor = cursor
        self._connection = _RawConnection(pooled, engine)
        self._dispatch = engine.dispatch
        self._scope = scope

    def execute(self, statement: str, params: Any = ()) -> Any:
        """Execute, between the before and after cursor events.

        On PostgreSQL (autocommit) the scope's settings go first in the same simple query:
        two statements of one query message run in one implicit transaction, so the
        settings hold for the read and end with it (one round trip, as before).
        """
        context = _RawExecution()
        self._dispatch.before_cursor_execute(
            self._connection, self._cursor, statement, params, context, False
        )
        if self._scope is None:
            result = self._cursor.execute(statement, params)
        else:
            forget_scope(self._connection.info)
            bound: Mapping[str, Any] | tuple[Any, ...]
            if isinstance(params, Mapping):
                first, bound = SCOPE_STATEMENT, {**self._scope.params(), **params}
            else:  # positional (or none)
                first, bound = SCOPE_STATEMENT_POSITIONAL, (*self._scope, *params)
            # nosemgrep: sql-built-from-strings - two statements of ours
            result = self._cursor.execute(f"{first}; {statement}", bound)
            self._cursor.nextset()
        self._dispatch.after_cursor_execute(
            self._connection, self._cursor, statement, params, context, False
        )
        return result

    def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    def fetchall(self) -> Any:
        """Every remaining row."""
        return self._cursor.fetchall()

    def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()


class RawReader:
    """One bare DBAPI connection of this process for the hot reads (autocommit, loop thread).

    Checked out of the engine's pool once (so it is set up like every other connection) and
    kept; after any error it is thrown away and the next use checks out a fresh one.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None

    def cursor(self, scope: Scope | None = None) -> Any:
        """A cursor of the reader's connection (opened now if needed).

        On PostgreSQL each statement runs in the row-level security ``scope`` (by default
        the current one: core/rowsecurity.py), through a client-side binding cursor (the
        only kind that sends two statements with parameters in one query).
        """
        if self._connection is None:
            connection = self.engine.raw_connection()
            if self.engine.dialect.name == "postgresql":
                connection.rollback()  # the pool's ping may have opened a transaction
                connection.driver_connection.autocommit = True  # type: ignore[union-attr]
            self._connection = connection
        if self.engine.dialect.name != "postgresql":
            return ObservedCursor(self._connection.cursor(), self._connection, self.engine)
        driver = self._connection.driver_connection
        return ObservedCursor(
            psycopg.ClientCursor(driver),
            self._connection,
            self.engine,
            current_scope() if scope is None else scope,
        )

    def discard(self) -> None:
        """Forget the connection after an error (the pool closes it)."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
            finally:
                self._connection = None

    def close(self) -> None:
        """Give the connection back (on shutdown)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Database:
    """The engines of this process and the sessions made from them."""

    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self.settings = settings
        self.url = url or settings.database_url
        self.engine = create_db_engine(self.url, settings)
        self.read_engine = (
            create_db_engine(settings.database_read_url, settings, role="replica")
            if settings.database_read_url and url is None
            else self.engine
        )
        self._write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self._sessions = sessionmaker(expire_on_commit=False)
        self.raw_reader = RawReader(self.engine)
        # Every committed session transaction invalidates what it wrote, in every process.
        own = settings if url is None else settings.model_copy(update={"database_url": self.url})
        self.cache = Cache(own)
        track_writes(self.engine)
        invalidate_on_commit(self._sessions, self.cache)

    @property
    def is_sqlite(self) -> bool:
        """Whether this database is SQLite."""
        return self.engine.dialect.name == "sqlite"

    def session(self, *, write: bool) -> Session:
        """Open a session; ``write`` takes SQLite's write lock when the transaction begins."""
        session = self._sessions(bind=self._write_engine if write else self.engine)
        session.info["database"] = self
        return session

    def read_session(self) -> Session:
        """Open a session on the reporting replica (the primary when none is configured)."""
        session = self._sessions(bind=self.read_engine)
        session.info["database"] = self
        return session

    @contextmanager
    def session_scope(self, *, write: bool = True) -> Iterator[Session]:
        """Run a unit of work for jobs and CLI commands: commit on success, else roll back."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            session.info.pop(AFTER_COMMIT_KEY, None)
            raise
        finally:
            session.close()
        for callback in session.info.pop(AFTER_COMMIT_KEY, []):
            callback()

    def run(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """Run ``work`` in one transaction, retrying transient failures with backoff."""
        attempt = 0
        while True:
            try:
                with self.session_scope(write=write) as session:
                    return work(session)
            except exc.DBAPIError as error:
                if not is_retryable(error) or attempt >= self.settings.database_retries:
                    raise
                attempt += 1
                backoff(attempt)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.raw_reader.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def backoff(attempt: int) -> None:
    """Sleep before retry number ``attempt``: exponential with jitter, capped at one second."""
    time.sleep(min(1.0, 0.02 * 2**attempt) * (0.5 + random.random() / 2))  # noqa: S311  # nosec B311


def _sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) if orig is not None else None


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached (answer 503, try again)."""
    if isinstance(error, exc.TimeoutError) or is_timeout(error):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        state = _sqlstate(error)
        if state is not None and state.startswith("08"):
            return True
        if isinstance(error, exc.OperationalError | exc.InterfaceError):
            text = str(error.orig).lower()
            if state is None and any(
                word in text
                for word in (
                    "connection",
                    "could not connect",
                    "server closed",
                    "unable to open database",
                    "terminating",
                    "is the server running",
                )
            ):
                return True
            if any(message in text for message in _SQLITE_BUSY_MESSAGES):
                return True
    return False


def budget_left() -> bool:
    """Whether the current request (if any) still has time for database work."""
    request = current_context()
    return request is None or request.deadline is None or request.deadline > time.monotonic()


def is_retryable(error: BaseException) -> bool:
    """Whether running the whole transaction again may succeed (within the request's budget)."""
    if not isinstance(error, exc.DBAPIError | exc.TimeoutError) or is_timeout(error):
        return False  # a timed-out call spent the request's budget: answer, do not wait again
    if not budget_left():
        return False
    return _sqlstate(error) in _RETRYABLE_SQLSTATES or is_unavailable(error)


def id_in(column: Any, ids: Sequence[int], dialect_name: str) -> Any:
    """``column IN ids`` as one parameter: an array on PostgreSQL, a JSON array on SQLite.

    One parameter, not one per id: SQLAlchemy renders an expanding IN list anew at every
    execution (a third of a second for the 80,000 ids of a cascade) and SQLite caps the
    number of parameters. SQLite reads the list through json_each and probes its index
    from it, as it does for a literal list.
    """
    if dialect_name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    listed = func.json_each(bindparam(None, _json_ids(ids), type_=String)).table_valued("value")
    return column.in_(select(listed.c.value))


def _json_ids(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def driver_rows(result: CursorResult[Any]) -> list[tuple[Any, ...]]:
    """Every row of ``result`` as the driver gives it: plain tuples, no type processing.

    For reads of tens of thousands of rows whose values the caller converts itself (SQLite
    returns dates as ISO text): SQLAlchemy's Row objects cost more than the query there.
    """
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def chunks(ids: Sequence[int], size: int = 5000) -> Iterator[Sequence[int]]:
    """Sorted id chunks for set-based writes (sorted: rows lock in one order, no deadlocks)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def add_days(column: Any, days: int, dialect_name: str) -> Any:
    """``column + days`` for a DATE column, in the dialect's own date arithmetic."""
    if dialect_name == "sqlite":
        return func.date(column, literal(f"{days:+d} days"), type_=Date)
    return column + literal(days)


def date_text(expression: Any, dialect_name: str) -> Any:
    """A DATE expression as ISO text ``YYYY-MM-DD`` (SQLite keeps dates as that text)."""
    if dialect_name == "sqlite":
        return func.date(expression, type_=String)
    return func.to_char(expression, literal("YYYY-MM-DD"), type_=String)
