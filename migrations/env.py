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
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or get_settings().database_url
    database = Database(get_settings(), url=url)
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
