"""The base every repository builds on: session, actor scope, get, add, page, attribute updates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, inspect, select
from sqlalchemy.orm import Session

from supplytrack.core.db import AnySelect
from supplytrack.core.identity import Actor
from supplytrack.core.models import Base
from supplytrack.core.pagination import Sort, apply_keyset

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    """Reads and writes of one table's rows, narrowed to what the actor may see.

    Subclasses name their ``model`` and, where an actor's view is narrower than the whole
    table, override :meth:`visible`. Repositories flush; they never commit (the route or the
    job does) and never raise HTTP errors.
    """

    model: type[M]

    def __init__(self, session: Session, actor: Actor | None = None) -> None:
        self.session = session
        self.actor = actor

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of this table to the actor's scope (default: everything)."""
        return stmt

    def get(self, row_id: int, *, for_update: bool = False) -> M | None:
        """One visible row by primary key (locked on PostgreSQL when asked)."""
        key = inspect(self.model).primary_key[0]
        stmt = self.visible(select(self.model).where(key == row_id))
        if for_update:
            stmt = stmt.with_for_update()
        row: M | None = self.session.scalars(stmt).first()
        return row

    def add(self, row: M) -> M:
        """Insert a row (flushed, so its id is known)."""
        self.session.add(row)
        self.session.flush()
        return row

    def page(self, stmt: AnySelect, sort: Sort, cursor: str | None, limit: int) -> Sequence[M]:
        """A visible page of ``stmt`` (ORM rows) in ``sort`` order, one more than ``limit``."""
        rows: Sequence[M] = self.session.scalars(
            apply_keyset(self.visible(stmt), sort, cursor, limit)
        ).all()
        return rows

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

    @property
    def dialect(self) -> str:
        """The database's dialect name (sqlite or postgresql)."""
        return self.session.get_bind().dialect.name


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
