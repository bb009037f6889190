"""bulk operations: a QUEUED state while their job waits for a worker

Until now a queued operation said RUNNING while its job said QUEUED. The state's CHECK
constraint takes the new value; on SQLite that rebuilds bulk_operations (foreign keys are
off during migrations there, see env.py, and checked before the commit).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from supplytrack.core import stash

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ("RUNNING", "APPLIED", "PARTIAL", "FAILED", "CANCELLED", "UNDONE")
_AFTER = ("QUEUED", *_BEFORE)


def _state(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name="state", native_enum=False, create_constraint=True)


def _replace(before: Sequence[str], after: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("bulk_operations", recreate="always") as batch_op:
            batch_op.alter_column(
                "state",
                existing_type=_state(before),
                type_=_state(after),
                existing_nullable=False,
            )
        return
    op.drop_constraint(op.f("ck_bulk_operations_state"), "bulk_operations", type_="check")
    listed = ", ".join(f"'{value}'" for value in after)
    op.create_check_constraint(
        op.f("ck_bulk_operations_state"), "bulk_operations", sa.text(f"state IN ({listed})")
    )


def upgrade() -> None:
    _replace(_BEFORE, _AFTER)
    # Operations that were QUEUED before a downgrade and have not started since are again.
    name = stash.stash_name(revision, "bulk_operations")
    if sa.inspect(op.get_bind()).has_table(name):
        op.execute(
            "UPDATE bulk_operations SET state = 'QUEUED' WHERE state = 'RUNNING'"  # noqa: S608
            f" AND id IN (SELECT id FROM {name})"
        )
        op.execute(f"DROP TABLE {name}")


def downgrade() -> None:
    # A queued operation is on its way: RUNNING is what the older release called it. Which
    # ones were queued is set aside for the upgrade (core/stash.py).
    stash.park_rows(revision, "bulk_operations", where="state = 'QUEUED'")
    op.execute("UPDATE bulk_operations SET state = 'RUNNING' WHERE state = 'QUEUED'")
    _replace(_AFTER, _BEFORE)
