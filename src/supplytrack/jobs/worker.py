"""Handing committed jobs to a worker: the Huey queue, or in-process when QUEUE_INLINE is set.

Jobs are enqueued only after the transaction that created their row commits, so a worker can
never pick up a job whose row it cannot see (or that was rolled back). Huey's message is only
a wake-up call: the truth is the jobs table (see jobs/runner.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

from huey import Huey
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.queue import after_commit, huey_at, queue_location
from supplytrack.core.settings import Settings, get_settings
from supplytrack.jobs.runner import JobRunner, recover


class JobQueue(Protocol):
    """Where committed jobs go."""

    def submit(self, session: Session, job_id: int) -> None:
        """Hand ``job_id`` to a worker once ``session``'s transaction has committed."""


class InlineQueue:
    """Run jobs in this process right after commit (QUEUE_INLINE: tests, tiny setups)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def submit(self, session: Session, job_id: int) -> None:
        """Run the job once the transaction that created it has committed."""

        def run() -> None:
            JobRunner(self.database).run(job_id)

        after_commit(session, run)


class HueyQueue:
    """Enqueue jobs on Huey (SQLite file embedded, Redis with REDIS_URL)."""

    def __init__(self, settings: Settings) -> None:
        self.location = queue_location(settings)

    def submit(self, session: Session, job_id: int) -> None:
        """Enqueue the job once the transaction that created it has committed."""
        _huey, run_job = consumer_app(self.location)
        after_commit(session, lambda: run_job(job_id))


def job_queue(database: Database) -> JobQueue:
    """The queue a process with this database's settings hands its jobs to."""
    if database.settings.queue_inline:
        return InlineQueue(database)
    return HueyQueue(database.settings)


@lru_cache(maxsize=1)
def worker_database() -> Database:
    """The worker process's database (one engine per process, from its environment)."""
    return Database(get_settings())


@lru_cache(maxsize=8)
def consumer_app(location: str) -> tuple[Huey, Any]:
    """The Huey instance at ``location`` and its one task, built on first use (not at import).

    The task runs in ``supplytrack worker``, whose database is its own environment's.
    """
    huey = huey_at(location)

    @huey.task(name="supplytrack.run_job")
    def run_job(job_id: int) -> None:
        """Run one job to its end (or until its lease is lost)."""
        JobRunner(worker_database()).run(job_id)

    @huey.on_startup()
    def resume_unfinished_jobs() -> None:
        """Enqueue every job a previous worker left queued or running (e.g. after SIGKILL)."""
        for job_id in recover(worker_database()):
            run_job(job_id)

    return huey, run_job
