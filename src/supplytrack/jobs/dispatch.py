"""Handing a committed job to a worker: the Huey queue, or in-process when QUEUE_INLINE is set."""

from __future__ import annotations

from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.queue import after_commit


def dispatch_after_commit(session: Session, job_id: int) -> None:
    """Enqueue the job once the transaction that created it has committed."""
    database: Database = session.info["database"]
    if database.settings.queue_inline:
        from supplytrack.jobs.runner import JobRunner  # noqa: PLC0415 - runner imports processors

        def run_now() -> None:
            JobRunner(database).run(job_id)

        after_commit(session, run_now)
        return
    from supplytrack.jobs.worker import run_job  # noqa: PLC0415 - builds the Huey instance

    after_commit(session, lambda: run_job(job_id))
