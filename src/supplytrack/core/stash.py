"""What a downgrade would drop, set aside so that the upgrade after it puts it back.

A revision's downgrade copies the rows, or the column values, it is about to drop into a stash
table named ``stash_<revision>_<table>`` (the same columns and types; no constraints, no
indexes), which nothing of the older release ever reads. The upgrade to that revision again
finds the stash, puts its contents back and drops it. So a rollback to an older release and
forward again loses nothing that was there before the rollback.

Rows written while the database stood at the older revision are not in any stash: the older
release did not record those values, so they come back empty (NULL, or the column's default).
The first revision's downgrade drops every stash with the rest of the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

PREFIX = "stash_"


def stash_name(revision: str, table: str) -> str:
    """The stash table of ``table`` that revision ``revision``'s downgrade fills."""
    return f"{PREFIX}{revision}_{table}"


def _exists(name: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(name)


def _create_like(name: str, table: str, columns: Sequence[str] | None = None) -> list[str]:
    """An empty stash with ``table``'s columns and their types (no constraints); its columns.

    The types are kept so that the stash reads back as the table did (a backup of a database
    that stands at the older revision reads it like any other table).
    """
    bind = op.get_bind()
    op.execute(f"DROP TABLE IF EXISTS {name}")
    reflected = sa.inspect(bind).get_columns(table)
    wanted = [column for column in reflected if columns is None or column["name"] in columns]
    sa.Table(
        name, sa.MetaData(), *(sa.Column(column["name"], column["type"]) for column in wanted)
    ).create(bind)
    return [column["name"] for column in wanted]


def park_rows(revision: str, table: str, where: str | None = None) -> None:
    """Copy ``table``'s rows (those matching ``where``) into its stash, before a drop."""
    name = stash_name(revision, table)
    listed = ", ".join(_create_like(name, table))
    clause = f" WHERE {where}" if where else ""
    op.execute(f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {table}{clause}")  # noqa: S608  # nosec B608


def park_columns(revision: str, table: str, key: str, columns: Sequence[str]) -> None:
    """Copy ``columns`` of ``table`` (by ``key``) into its stash, before they are dropped."""
    name = stash_name(revision, table)
    listed = ", ".join(_create_like(name, table, (key, *columns)))
    filled = " OR ".join(f"{column} IS NOT NULL" for column in columns)
    op.execute(
        f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {table} WHERE {filled}"  # noqa: S608  # nosec B608
    )


def restore_rows(revision: str, table: str) -> int:
    """Put a stash's rows back into ``table`` (created again just before); how many."""
    name = stash_name(revision, table)
    if not _exists(name):
        return 0
    bind = op.get_bind()
    columns = [column["name"] for column in sa.inspect(bind).get_columns(name)]
    listed = ", ".join(columns)
    count = bind.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()  # noqa: S608  # nosec B608
    op.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {name}")  # noqa: S608  # nosec B608
    op.execute(f"DROP TABLE {name}")
    if bind.dialect.name == "postgresql" and "id" in columns:
        # The restored ids were taken from the sequence before the rollback: go on after them.
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608  # nosec B608
            " HAVING max(id) IS NOT NULL"
        )
    return int(count)


def restore_columns(revision: str, table: str, key: str, columns: Sequence[str]) -> int:
    """Put a stash's column values back into ``table``'s rows, matched by ``key``; how many."""
    name = stash_name(revision, table)
    if not _exists(name):
        return 0
    bind = op.get_bind()
    count = bind.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()  # noqa: S608  # nosec B608
    assignments = ", ".join(f"{column} = {name}.{column}" for column in columns)
    op.execute(
        f"UPDATE {table} SET {assignments} FROM {name}"  # noqa: S608  # nosec B608
        f" WHERE {table}.{key} = {name}.{key}"
    )
    op.execute(f"DROP TABLE {name}")
    return int(count)


def drop_all() -> None:
    """Drop every stash (the first revision's downgrade: nothing is left to go back to)."""
    for name in sa.inspect(op.get_bind()).get_table_names():
        if name.startswith(PREFIX):
            op.execute(f"DROP TABLE {name}")
