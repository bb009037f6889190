"""The job queue (Huey: SQLite file embedded, Redis when REDIS_URL is set) and after-commit hooks.

Jobs are enqueued only after the transaction that created their row commits, so a worker can
never pick up a job whose row it cannot see (or that was rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy.orm import Session

from supplytrack.core.db import AFTER_COMMIT_KEY as _AFTER_COMMIT
from supplytrack.core.settings import Settings


def queue_location(settings: Settings) -> str:
    """Where the settings' job queue lives: the Redis URL, or the embedded queue's file."""
    return settings.redis_url or str(settings.queue_path)


@lru_cache(maxsize=8)
def huey_at(location: str) -> Huey:
    """One Huey instance per queue location in this process."""
    if location.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("supplytrack", url=location)
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("supplytrack", filename=str(path))


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def run_after_commit(session: Session) -> None:
    """Run (and forget) the callbacks registered on ``session``; call right after commit."""
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


def forget_after_commit(session: Session) -> None:
    """Drop the callbacks of a transaction that did not commit."""
    session.info.pop(_AFTER_COMMIT, None)
