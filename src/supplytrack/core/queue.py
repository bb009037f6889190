"""The job queue (Huey: SQLite file embedded, Redis when REDIS_URL is set) and after-commit hooks.

Jobs are enqueued only after the transaction that created their row commits, so a worker can
never pick up a job whose row it cannot see (or that was rolled back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy.orm import Session

from supplytrack.core.db import AFTER_COMMIT_KEY as _AFTER_COMMIT
from supplytrack.core.redis_client import pool_at, redis_prefix
from supplytrack.core.settings import Settings

log = logging.getLogger("supplytrack.queue")


# The consumer blocks on the queue for up to a second at a time; its socket waits longer.
_CONSUMER_READ_SECONDS = 1
_CONSUMER_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True)
class QueueAt:
    """Where a job queue lives, and how this process talks to it."""

    location: str  # the Redis URL, or the embedded queue's file
    name: str  # the namespace of its keys on a shared Redis
    timeout_ms: int  # of every Redis command (the short one, or the consumer's)


def queue_at(settings: Settings, *, consumer: bool = False) -> QueueAt:
    """The settings' job queue: on Redis (REDIS_URL, named by REDIS_PREFIX) or embedded."""
    if not settings.redis_url:
        return QueueAt(str(settings.queue_path), "supplytrack", 0)
    timeout = _CONSUMER_TIMEOUT_MS if consumer else settings.redis_timeout_ms
    return QueueAt(settings.redis_url, f"{redis_prefix(settings)}_jobs", timeout)


@lru_cache(maxsize=8)
def huey_at(where: QueueAt) -> Huey:
    """One Huey instance per queue (and timeout) in this process."""
    if where.location.startswith(("redis://", "rediss://", "unix://")):
        connections = pool_at(where.location, where.timeout_ms)
        return RedisHuey(
            where.name, connection_pool=connections, read_timeout=_CONSUMER_READ_SECONDS
        )
    path = Path(where.location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(where.name, filename=str(path))


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def run_after_commit(session: Session) -> None:
    """Run (and forget) the callbacks registered on ``session``; call right after commit.

    What was committed stands, so a callback that fails is logged and never turns the
    request into an error: after-commit work must be something that may be lost (a wake-up
    call whose job a sweeper finds anyway), never the only record of anything.
    """
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            log.exception("after-commit work failed; what was committed stands")


def forget_after_commit(session: Session) -> None:
    """Drop the callbacks of a transaction that did not commit."""
    session.info.pop(_AFTER_COMMIT, None)
