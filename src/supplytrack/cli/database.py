"""The database of a command that walks whole tables: logging set up, statements not cut short."""

from __future__ import annotations

from supplytrack.core.db import Database
from supplytrack.core.logging import configure_logging
from supplytrack.core.settings import get_settings


def unbounded_database() -> Database:
    """A Database without DATABASE_STATEMENT_TIMEOUT.

    A walk of every row may take longer than a request may (verify, check, export, retention).
    """
    settings = get_settings()
    configure_logging(settings)
    return Database(settings.model_copy(update={"database_statement_timeout": 0}))
