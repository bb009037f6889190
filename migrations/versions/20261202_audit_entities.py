"""audit log: every kind of object that changes is recorded

Until now audit_log named templates, calendars, suppliers and projects. The entity CHECK takes
assignments, tokens, task instances (made or deleted by hand), bulk operations, jobs,
retention runs, legal holds and imports too. On SQLite the table is rebuilt (its
append-only triggers are installed again); on PostgreSQL the CHECK is swapped and the column
widened to the longest kind.

The downgrade sets the rows of the new kinds aside (core/stash.py) and takes them out, with the
append-only guard stepping aside for that; the upgrade after it puts them back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00
"""

# ruff: noqa: S608 - the statements are built from this module's own constants only

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from supplytrack.core import stash

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "audit_log"
_BEFORE = ("PROJECT", "TEMPLATE", "CALENDAR", "SUPPLIER")
_ADDED = ("ASSIGNMENT", "TOKEN", "INSTANCE", "OPERATION", "JOB", "RETENTION", "HOLD", "IMPORT")
_AFTER = (*_BEFORE, *_ADDED)


def _entity(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name="entity", native_enum=False, create_constraint=True)


def _guard_sqlite() -> None:
    """The append-only triggers a SQLite rebuild dropped (PostgreSQL's outlive the swap)."""
    for action in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_no_{action.lower()}")
        op.execute(
            f"CREATE TRIGGER {_TABLE}_no_{action.lower()} BEFORE {action} ON {_TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{_TABLE} is append-only'); END"
        )


def _replace(before: Sequence[str], after: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(_TABLE, recreate="always") as batch_op:
            batch_op.alter_column(
                "entity",
                existing_type=_entity(before),
                type_=_entity(after),
                existing_nullable=False,
            )
        _guard_sqlite()
        return
    op.drop_constraint(op.f("ck_audit_log_entity"), _TABLE, type_="check")
    # The column is as wide as the longest kind (ASSIGNMENT is longer than any before it).
    op.alter_column(
        _TABLE,
        "entity",
        type_=sa.String(max(len(value) for value in after)),
        existing_type=sa.String(max(len(value) for value in before)),
        existing_nullable=False,
    )
    listed = ", ".join(f"'{value}'" for value in after)
    op.create_check_constraint(
        op.f("ck_audit_log_entity"), _TABLE, sa.text(f"entity IN ({listed})")
    )


def upgrade() -> None:
    _replace(_BEFORE, _AFTER)
    stash.restore_rows(revision, _TABLE)


def downgrade() -> None:
    added = ", ".join(f"'{value}'" for value in _ADDED)
    where = f"entity IN ({added})"
    stash.park_rows(revision, _TABLE, where=where)
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {_TABLE}_no_{action}")
        op.execute(f"DELETE FROM {_TABLE} WHERE {where}")
    else:
        op.execute(f"ALTER TABLE {_TABLE} DISABLE TRIGGER {_TABLE}_append_only")
        op.execute(f"DELETE FROM {_TABLE} WHERE {where}")
        op.execute(f"ALTER TABLE {_TABLE} ENABLE TRIGGER {_TABLE}_append_only")
    _replace(_AFTER, _BEFORE)
