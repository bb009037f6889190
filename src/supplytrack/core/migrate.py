"""Alembic, driven from code: upgrade, downgrade, current revision, head revision."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, inspect, text

ROOT = Path(__file__).resolve().parents[3]


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for this checkout, optionally for another database URL."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade(revision: str = "head", url: str | None = None) -> None:
    """Migrate the database up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(revision: str, url: str | None = None) -> None:
    """Migrate the database down to ``revision`` (see ``data_lost_by`` for what it drops)."""
    command.downgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision in migrations/."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


class DataWouldBeLost(Exception):
    """A downgrade would drop rows that no stash keeps; it runs only when confirmed."""

    def __init__(self, revisions: list[str], tables: list[str]) -> None:
        self.revisions = revisions
        self.tables = tables
        super().__init__(
            f"downgrading through {', '.join(revisions)} drops the rows of"
            f" {', '.join(tables)}; confirm with --yes (after a `db backup`)"
        )


def steps_down(connection: Connection, revision: str) -> list[Script]:
    """The revisions a downgrade to ``revision`` (an id, -N or base) undoes, newest first."""
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revision(connection)
    steps: list[Script] = []
    step = script.get_revision(current) if current else None
    relative = re.fullmatch(r"-(\d+)", revision)
    target: str | None = None
    if relative is None:
        # Resolves the id (or raises alembic's own error for an unknown one).
        target = None if revision == "base" else script.get_revision(revision).revision
    while step is not None:
        if relative is not None and len(steps) == int(relative.group(1)):
            break
        if relative is None and step.revision == target:
            break
        steps.append(step)
        down = step.down_revision
        step = script.get_revision(down) if isinstance(down, str) else None
    return steps


def data_lost_by(connection: Connection, revision: str) -> DataWouldBeLost | None:
    """What a downgrade to ``revision`` would drop for good (None when nothing is lost).

    A revision whose downgrade sets data aside (core/stash.py) loses nothing; one that cannot
    says so with ``DOWNGRADE_DROPS_DATA = True`` in its module, and then only a database
    that holds rows has anything to lose.
    """
    dropping = [
        step.revision
        for step in steps_down(connection, revision)
        if getattr(step.module, "DOWNGRADE_DROPS_DATA", False)
    ]
    if not dropping:
        return None
    tables = holds_rows(connection)
    return DataWouldBeLost(dropping, tables) if tables else None


def holds_rows(connection: Connection) -> list[str]:
    """The tables of a database that hold rows (the schema revision table aside)."""
    full = []
    for name in inspect(connection).get_table_names():
        if name == "alembic_version":
            continue
        quoted = connection.dialect.identifier_preparer.quote(name)
        # nosemgrep: text-with-interpolation - a quoted table name
        if connection.execute(text(f"SELECT 1 FROM {quoted} LIMIT 1")).first():  # noqa: S608  # nosec B608
            full.append(name)
    return full
