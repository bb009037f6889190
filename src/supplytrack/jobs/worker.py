"""The Huey side of jobs: the task a worker runs, and recovery when a worker starts."""

from __future__ import annotations

from functools import lru_cache

from supplytrack.bulk import processors  # noqa: F401 - registers the bulk job kinds
from supplytrack.core.db import Database
from supplytrack.core.queue import get_huey
from supplytrack.core.settings import get_settings
from supplytrack.jobs.runner import JobRunner, recover

huey = get_huey()


@lru_cache(maxsize=1)
def worker_database() -> Database:
    """The worker process's database (one engine per process)."""
    return Database(get_settings())


@huey.task()
def run_job(job_id: int) -> None:
    """Run one job to its end (or until its lease is lost)."""
    JobRunner(worker_database()).run(job_id)


@huey.on_startup()
def resume_unfinished_jobs() -> None:
    """Enqueue every job a previous worker left queued or running (e.g. after SIGKILL)."""
    for job_id in recover(worker_database()):
        run_job(job_id)
