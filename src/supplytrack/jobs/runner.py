"""Running a job: claim it, process sorted chunks (one transaction each), finish or resume.

Each chunk's transaction applies the chunk *and* advances the job's cursor and counts, so a
worker killed at any moment leaves either the whole chunk or none of it, and the next run
starts right after the last committed chunk: nothing is applied twice, nothing skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.core import metrics
from supplytrack.core.context import RequestContext, bind_context, reset_context
from supplytrack.core.db import Database
from supplytrack.core.queue import after_commit
from supplytrack.core.settings import Settings
from supplytrack.core.time import utcnow
from supplytrack.jobs.models import Job, JobState
from supplytrack.jobs.repository import JobRepository

log = logging.getLogger("supplytrack.jobs")


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What one chunk did, and where the next one starts."""

    cursor: int | None
    processed: int
    failed: int
    done: bool


# Set when the worker is asked to stop (SIGTERM): jobs stop after the chunk in hand and
# stay RUNNING, to be resumed by the next worker.
STOP = threading.Event()

ChunkProcessor = Callable[[Session, Job, Settings], ChunkResult]
Hook = Callable[[Session, Job], None]
Preparer = Callable[[Session, Job, Settings], Any]

_PREPARED = "supplytrack.job_prepared"


@dataclass(frozen=True, slots=True)
class JobKind:
    """How jobs of one kind run: each chunk (in the chunk's transaction), start and end.

    ``prepare``, when given, does a chunk's reading in a read-only transaction of its own
    before the chunk's write transaction, so that a long read (a data check) holds no write
    lock (SQLite's is the whole database's); ``process`` finds its result with ``prepared``.
    """

    process: ChunkProcessor
    finish: Hook
    start: Hook | None = None
    prepare: Preparer | None = None


def prepared(session: Session) -> Any:
    """What the kind's ``prepare`` returned for the chunk this session processes."""
    return session.info.get(_PREPARED)


# Filled by the layer that owns the work (flows/jobs.py), imported by whoever runs jobs.
KINDS: dict[str, JobKind] = {}


def register(kind: str, job_kind: JobKind) -> None:
    """Declare how jobs of ``kind`` are processed, started and finished."""
    KINDS[kind] = job_kind


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_local_owners(jobs: list[Job]) -> list[str]:
    """Owners on this host whose process is gone (a SIGKILLed worker)."""
    host = socket.gethostname()
    dead = []
    for job in jobs:
        parts = (job.owner or "").split(":")
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            dead.append(job.owner or "")
        except PermissionError:
            continue
    return dead


class JobRunner:
    """Runs jobs against one database."""

    def __init__(
        self, database: Database, on_chunk: Callable[[int, int], None] | None = None
    ) -> None:
        self.database = database
        self.on_chunk = on_chunk
        self.owner = _owner()
        self.lease = timedelta(seconds=database.settings.job_lease_seconds)

    def run(self, job_id: int) -> JobState | None:
        """Run a job to its end; None when another live worker holds it."""
        if not self._claim(job_id):
            return None
        try:
            while True:
                started = time.perf_counter()
                ready = self._prepare(job_id)
                state = self.database.run(partial(self._chunk, job_id=job_id, ready=ready))
                if state != JobState.RUNNING:
                    return state
                if STOP.is_set():
                    return None
                self._yield(time.perf_counter() - started)
        except Exception as error:
            log.exception("job failed", extra={"job_id": job_id})
            reason = f"{type(error).__name__}: {str(error)[:500]}"
            self.database.run(lambda session: self._fail(session, job_id, reason))
            return JobState.FAILED

    def _yield(self, chunk_seconds: float) -> None:
        """Let waiting writers in between chunks (SQLite has one writer at a time).

        SQLite's busy handler polls for the lock at growing intervals (up to 100 ms); were the
        next chunk to take the lock right away, a single API write could wait behind every
        chunk of the job. A pause of a third of the chunk's time bounds that wait to about one
        chunk. PostgreSQL locks rows, so jobs and API writes interleave there by themselves.
        """
        if self.database.is_sqlite:
            time.sleep(min(0.1, max(0.01, chunk_seconds / 3)))

    def _claim(self, job_id: int) -> bool:
        def claim(session: Session) -> bool:
            jobs = JobRepository(session)
            dead = _dead_local_owners(jobs.live())
            return jobs.claim(job_id, self.owner, utcnow(), self.lease, dead)

        return self.database.run(claim)

    def _prepare(self, job_id: int) -> tuple[int | None, Any] | None:
        """The kind's reading for the next chunk, with the cursor it read at (None: none)."""

        def read(session: Session) -> tuple[int | None, Any] | None:
            job = JobRepository(session).get(job_id)
            if job is None or job.state != JobState.RUNNING or job.cancel_requested:
                return None
            kind = KINDS[job.kind]
            if kind.prepare is None:
                return None
            return job.cursor, kind.prepare(session, job, self.database.settings)

        return self.database.run(read, write=False)

    def _chunk(
        self, session: Session, job_id: int, ready: tuple[int | None, Any] | None = None
    ) -> JobState | None:
        job = JobRepository(session).get(job_id, for_update=True)
        if job is None or job.owner != self.owner or job.state != JobState.RUNNING:
            return None  # gone, finished elsewhere, or another worker took the lease: stop
        if ready is not None:
            if ready[0] != job.cursor:
                return JobState.RUNNING  # read for another chunk: read again
            session.info[_PREPARED] = ready[1]
        now = utcnow()
        if job.cancel_requested:
            self._end(session, job, JobState.CANCELLED)
            return JobState.CANCELLED
        kind = KINDS[job.kind]
        token = bind_context(RequestContext(request_id=job.payload.get("requestId") or "job"))
        try:
            if job.started_at is None:
                job.started_at = now
                if kind.start is not None:
                    kind.start(session, job)
            result = kind.process(session, job, self.database.settings)
        finally:
            reset_context(token)
        job.cursor = result.cursor
        rows, kind_name = result.processed + result.failed, job.kind
        after_commit(session, lambda: metrics.JOB_ROWS.labels(kind_name).inc(rows))
        job.processed += result.processed
        job.failed += result.failed
        job.heartbeat_at = now
        if self.on_chunk is not None:
            self.on_chunk(job.processed + job.failed, job.total)
        if result.done:
            self._end(session, job, JobState.SUCCEEDED)
            return JobState.SUCCEEDED
        session.flush()
        return JobState.RUNNING

    @staticmethod
    def _end(session: Session, job: Job, state: JobState) -> None:
        job.state = state
        job.finished_at = utcnow()
        KINDS[job.kind].finish(session, job)
        session.flush()

    def _fail(self, session: Session, job_id: int, reason: str) -> None:
        job = JobRepository(session).get(job_id, for_update=True)
        if job is not None and job.state == JobState.RUNNING:
            job.error = reason
            self._end(session, job, JobState.FAILED)


def unattended(database: Database, queued_for: timedelta) -> list[int]:
    """Ids of jobs nobody runs.

    Queued for longer than ``queued_for``, or running with an expired lease or a dead worker
    (the jobs table is the outbox; queue messages only hurry).
    """
    with database.session_scope(write=False) as session:
        jobs = JobRepository(session)
        now = utcnow()
        lease = timedelta(seconds=database.settings.job_lease_seconds)
        return jobs.unattended(now - queued_for, now - lease, _dead_local_owners(jobs.live()))
