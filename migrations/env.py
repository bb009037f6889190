"""Alembic environment: the URL comes from supplytrack's settings (or the caller's connection)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from supplytrack.core.db import Database
from supplytrack.core.settings import get_settings
from supplytrack.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by rebuilding it: DROP TABLE of the old copy would delete (or
        # refuse, for rows referenced) through the foreign keys. The pragma only takes effect
        # outside a transaction, so it is set on the driver's connection before Alembic's
        # begins; every foreign key is checked again before the migration commits.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    msg = f"the migration would break {len(broken)} foreign keys: {broken[:5]}"
                    raise RuntimeError(msg)
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # The tables' owner (DATABASE_MIGRATION_URL) when the service connects as another role.
    url = config.attributes.get("url") or get_settings().owner_url
    # A migration of a large table may take longer than any request may.
    database = Database(
        get_settings().model_copy(update={"database_statement_timeout": 0}), url=url
    )
    try:
        with database.engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        database.dispose()


if context.is_offline_mode():
    msg = "offline (--sql) migrations are not supported; run against a database"
    raise SystemExit(msg)
run_migrations_online()
