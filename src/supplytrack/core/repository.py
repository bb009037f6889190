"""What every domain repository shares: the session, the actor, and attribute updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from supplytrack.auth.actor import Actor


class Repository:
    """Base of the domain repositories: holds the session and the actor whose scope applies."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def flush(self) -> None:
        """Send pending changes (never commit: the route or the job does that)."""
        self.session.flush()

    def core(self) -> Connection:
        """The session's connection, for Core statements over many rows.

        Reading rows through the ORM session costs several times more per row; pending ORM
        changes are flushed first so that these statements see them.
        """
        self.session.flush()
        return self.session.connection()


def assign(row: Any, changes: Mapping[str, object]) -> list[str]:
    """Set the attributes that really change; return their names (none: no UPDATE, no bump)."""
    changed = []
    for name, value in changes.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return changed


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
