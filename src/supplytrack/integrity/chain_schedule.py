"""The periodic checkpoint of the audit hash chains (a Huey periodic task of every worker).

Every worker's clock calls :func:`checkpoint_if_due` once a minute; it signs a checkpoint
when the newest is older than AUDIT_CHECKPOINT_INTERVAL_MINUTES (and AUDIT_SIGNING_KEY is
set). Two workers at once make one: the second waits for the first's lock, then finds it.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from supplytrack.audit.chain import checkpoint_due, make_checkpoint
from supplytrack.core.db import Database
from supplytrack.core.time import utcnow
from supplytrack.jobs.worker import every_minute

log = logging.getLogger("supplytrack.audit")


def checkpoint_if_due(database: Database) -> int | None:
    """Sign a checkpoint if one is due; its id (None when none was due)."""

    def work(session: Session) -> int | None:
        now = utcnow()
        if not checkpoint_due(session, database.settings, now):
            return None
        made = make_checkpoint(session, database.settings, now)
        if not checkpoint_due(session, database.settings, now):  # ours is the newest now
            log.info(
                "audit checkpoint %s: history to id %s, audit log to id %s",
                made.id,
                made.history_boundary,
                made.audit_boundary,
            )
        return made.id

    return database.run(work)


every_minute("audit_checkpoint", checkpoint_if_due)
