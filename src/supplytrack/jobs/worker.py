"""Handing committed jobs to a worker: the Huey queue, or in-process when QUEUE_INLINE is set.

The jobs table is the outbox. A job is committed with its bulk operation; only then is a
message put on the queue, and that message is only a wake-up call: when it is lost (Redis
down, a crash between commit and enqueue) the workers' sweeper finds the job in the table
and runs it. Claiming a job is one conditional UPDATE (jobs/runner.py), so a job woken twice
still runs once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache, partial
from typing import Any, Protocol

from huey import Huey, crontab
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.queue import QueueAt, after_commit, huey_at, queue_at
from supplytrack.core.redis_client import breaker
from supplytrack.core.settings import Settings, get_settings
from supplytrack.jobs.runner import JobRunner, unattended

log = logging.getLogger("supplytrack.jobs")


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
    """Wake a worker through Huey (SQLite file embedded, Redis with REDIS_URL)."""

    def __init__(self, settings: Settings) -> None:
        self.where = queue_at(settings)
        # One per process: while the queue is down, committed jobs wait for the sweeper.
        self.breaker = breaker("queue", f"job queue {self.where.name}", settings)

    def submit(self, session: Session, job_id: int) -> None:
        """Wake a worker once the job's transaction has committed (never raises after it)."""
        _huey, run_job = consumer_app(self.where)

        def wake() -> None:
            run_job(job_id)

        def later() -> None:
            log.warning("job %s queued without a wake-up call; a worker's sweep runs it", job_id)

        after_commit(session, lambda: self.breaker.call(wake, later))


def job_queue(database: Database) -> JobQueue:
    """The queue a process with this database's settings hands its jobs to."""
    if database.settings.queue_inline:
        return InlineQueue(database)
    return HueyQueue(database.settings)


@lru_cache(maxsize=1)
def worker_database() -> Database:
    """The worker process's database (one engine per process, from its environment)."""
    return Database(get_settings())


# Work every worker's clock starts each minute (Huey periodic tasks), by name; filled by the
# layer that owns the work (flows/jobs.py), like the job kinds.
EVERY_MINUTE: dict[str, Callable[[Database], object]] = {}


def every_minute(name: str, work: Callable[[Database], object]) -> None:
    """Have every worker call ``work`` with its database once a minute."""
    EVERY_MINUTE[name] = work


@lru_cache(maxsize=8)
def consumer_app(where: QueueAt) -> tuple[Huey, Any]:
    """The Huey instance of ``where``, its task and its clock, built on first use (not at import).

    The task runs in ``supplytrack worker``, whose database is its own environment's.
    """
    huey = huey_at(where)

    @huey.task(name="supplytrack.run_job")
    def run_job(job_id: int) -> None:
        """Run one job to its end (or until its lease is lost)."""
        JobRunner(worker_database()).run(job_id)

    for name, work in EVERY_MINUTE.items():
        huey.periodic_task(crontab(), name=f"supplytrack.{name}")(partial(work_now, work))
    return huey, run_job


def work_now(work: Callable[[Database], object]) -> None:
    """One tick of the clock: the work, with the worker's database (failures are logged)."""
    try:
        work(worker_database())
    except Exception:
        log.exception("periodic work failed; the next minute tries again")


class Sweeper:
    """A worker's look through the jobs table for jobs nobody runs, every JOB_SWEEP_SECONDS.

    It finds what a previous worker left (killed mid-job), jobs whose wake-up call was lost
    (Redis down at commit time) and jobs whose worker went silent past its lease, and runs
    them itself, so a committed job runs even while the queue is down.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.interval = database.settings.job_sweep_seconds

    def sweep(self, queued_for: timedelta) -> list[int]:
        """Run every unattended job (a claim another worker wins is skipped); their ids."""
        found = unattended(self.database, queued_for)
        for job_id in found:
            JobRunner(self.database).run(job_id)
        return found

    def run(self, stop: threading.Event) -> None:
        """Sweep until ``stop`` is set: the first time for everything left queued."""
        queued_for = timedelta(0)
        while not stop.is_set():
            try:
                self.sweep(queued_for)
            except Exception:
                log.exception("job sweep failed; trying again in %.0f s", self.interval)
            queued_for = timedelta(seconds=self.interval)
            stop.wait(self.interval)
