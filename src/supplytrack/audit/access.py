"""The supplier access log: every request of a supplier token, written in batches.

A request only appends its entry to this process's buffer (no database work on the request's
path); a thread writes the buffer out every ACCESS_LOG_FLUSH_SECONDS in one multi-row INSERT,
and reading the log (GET /api/access-log) writes it out first (with an interval of 0, as the
tests have it, only that and a clean stop write). So an entry reaches the table
within about a second, and a process killed with SIGKILL loses at most that second's entries
(a clean stop writes them out).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, not_, or_, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import AccessLogEntry
from supplytrack.audit.repository import stored_instant
from supplytrack.audit.retention_models import LegalHold
from supplytrack.core.context import RequestContext, current_context
from supplytrack.core.db import Database
from supplytrack.core.identity import Actor, Role
from supplytrack.core.rowsecurity import system_scope
from supplytrack.core.time import utcnow

log = logging.getLogger("supplytrack.access")

_COLUMNS = (
    "at",
    "token_id",
    "role",
    "supplier_id",
    "method",
    "route",
    "target",
    "status",
    "request_id",
)
_MAX_BUFFER = 50_000  # beyond this (the database away for long), the oldest entries go


class AccessLog:
    """One process's buffer of access-log entries and the thread that writes them out."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.interval = database.settings.access_log_flush_seconds
        self._entries: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.pruned_at: float | None = None  # time.monotonic() of the last retention run

    def record(self, context: RequestContext) -> None:
        """Take a finished request's entry (called inline by the middleware: never blocks)."""
        entry = (
            utcnow(),
            context.actor_id,
            context.actor_role or "",
            context.actor_supplier_id,
            context.method[:10],
            context.route[:200],
            context.target[:500],
            context.status,
            context.request_id[:64],
        )
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > _MAX_BUFFER:
                del self._entries[: len(self._entries) - _MAX_BUFFER]
                self.dropped += 1
            if self._thread is None and self.interval > 0:
                self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> int:
        """Write out what is buffered (one INSERT); how many entries. Failures keep them."""
        with self._write_lock:
            with self._lock:
                entries, self._entries = self._entries, []
            if not entries:
                return 0
            try:
                # Written as the system (a request's own flush is not the supplier's write).
                with system_scope(), self.database.session_scope() as session:
                    self._insert(session, entries)
            except Exception:
                log.exception(
                    "access log not written; %d entries kept for the next try", len(entries)
                )
                with self._lock:
                    self._entries[:0] = entries
                return 0
            return len(entries)

    @staticmethod
    def _insert(session: Session, entries: list[tuple[Any, ...]]) -> None:
        """One executemany of plain tuples: the driver's C loop, not SQLAlchemy's per row.

        The batch of a busy second is thousands of rows; built row by row in Python it held
        the GIL long enough to show in the p99 of the requests being served meanwhile.
        """
        connection = session.connection()
        dialect = connection.dialect.name
        marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(_COLUMNS))
        statement = f"INSERT INTO access_log ({', '.join(_COLUMNS)}) VALUES ({marks})"  # noqa: S608  # nosec B608
        rows = [(stored_instant(entry[0], dialect), *entry[1:]) for entry in entries]
        connection.exec_driver_sql(statement, rows)

    def close(self) -> None:
        """Stop the thread and write out the rest."""
        self._stop.set()
        self.flush()


_LOGS: weakref.WeakKeyDictionary[Database, AccessLog] = weakref.WeakKeyDictionary()
_LOGS_LOCK = threading.Lock()


def access_log_of(database: Database) -> AccessLog:
    """The access-log buffer of this process's database (made on first use)."""
    with _LOGS_LOCK:
        found = _LOGS.get(database)
        if found is None:
            found = _LOGS[database] = AccessLog(database)
        return found


def note_access(database: Database, actor: Actor) -> None:
    """Have the current request logged once it is answered, when its actor is to be logged."""
    settings = database.settings
    context = current_context()
    if context is None or not settings.access_log_enabled:
        return
    if actor.role != Role.SUPPLIER and not settings.access_log_staff:
        return
    if context.actor_role is not None:
        return  # taken already (a fast-path request handed on to its route authenticates twice)
    context.actor_role = actor.role.value
    context.actor_supplier_id = actor.supplier_id
    context.on_finish.append(access_log_of(database).record)


class AccessLogReader:
    """Reads and the retention of the access log (admin-only data: no actor scope)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def page(
        self,
        *,
        token_id: int | None,
        supplier_id: int | None,
        route: str | None,
        status: int | None,
        since: datetime | None,
        until: datetime | None,
        before_id: int | None,
        limit: int,
    ) -> Sequence[AccessLogEntry]:
        """Entries newest first, one more than ``limit`` (to tell whether a next page exists)."""
        stmt = select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(limit + 1)
        equal = {
            AccessLogEntry.token_id: token_id,
            AccessLogEntry.supplier_id: supplier_id,
            AccessLogEntry.route: route,
            AccessLogEntry.status: status,
        }
        for column, value in equal.items():
            if value is not None:
                stmt = stmt.where(column == value)
        if since is not None:
            stmt = stmt.where(AccessLogEntry.at >= since)
        if until is not None:
            stmt = stmt.where(AccessLogEntry.at < until)
        if before_id is not None:
            stmt = stmt.where(AccessLogEntry.id < before_id)
        return self.session.scalars(stmt).all()

    def prune(self, older_than: timedelta) -> int:
        """Delete the entries older than the retention, but a held supplier's; how many."""
        return self.prune_before(utcnow() - older_than)

    def prune_before(self, cutoff: datetime) -> int:
        """Delete the entries before ``cutoff`` (:func:`prunable`); how many."""
        result = self.session.execute(
            delete(AccessLogEntry).where(prunable(cutoff, held_projects(self.session)))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def about_project(project_id: int) -> Any:
    """Requests whose path or query names the project (its routes, or ``projectId=``)."""
    e = AccessLogEntry
    base = f"/api/projects/{project_id}"
    return or_(
        e.target == base,
        e.target.startswith(base + "/", autoescape=True),
        e.target.startswith(base + "?", autoescape=True),
        e.target.contains(f"projectId={project_id}&", autoescape=True),
        e.target.endswith(f"projectId={project_id}", autoescape=True),
    )


def held_projects(session: Session) -> list[int]:
    """The projects under a legal hold now."""
    return sorted(
        session.scalars(
            select(LegalHold.project_id).where(
                LegalHold.project_id.is_not(None), LegalHold.released_at.is_(None)
            )
        )
    )


def prunable(cutoff: datetime, projects: Sequence[int] = ()) -> Any:
    """Entries before ``cutoff`` that no legal hold keeps (what a prune deletes).

    A hold on a supplier keeps its entries; a hold on a project, the entries that name it.
    """
    held = select(LegalHold.supplier_id).where(
        LegalHold.supplier_id.is_not(None), LegalHold.released_at.is_(None)
    )
    kept = [about_project(project) for project in projects]
    return and_(
        AccessLogEntry.at < cutoff,
        or_(AccessLogEntry.supplier_id.is_(None), AccessLogEntry.supplier_id.not_in(held)),
        *([not_(or_(*kept))] if kept else []),
    )


PRUNE_EVERY_SECONDS = 3600.0


def prune_expired(database: Database) -> int | None:
    """The workers' clock: delete entries past ACCESS_LOG_RETENTION_DAYS, hourly per process."""
    now = time.monotonic()
    access = access_log_of(database)
    if access.pruned_at is not None and now - access.pruned_at < PRUNE_EVERY_SECONDS:
        return None
    access.pruned_at = now
    days = database.settings.access_log_retention_days
    removed = database.run(lambda session: AccessLogReader(session).prune(timedelta(days=days)))
    if removed:
        log.info("access log: %d entries older than %d days deleted", removed, days)
    return removed
