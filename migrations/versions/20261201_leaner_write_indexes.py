"""history indexes: fewer entries written per history row

Every history row gets an entry in every index of task_instance_history, and a cascade or a
bulk shift writes tens of thousands of them in one transaction. Two of those entries bought
nothing:

- ix_task_instance_history_change_id: the change id is only ever asked within one instance's
  history, which (task_instance_id, id) serves; dropped.
- ix_task_instance_history_bulk_operation_id: only the rows of a bulk operation carry its id,
  and only they are ever looked up by it; now partial (bulk_operation_id IS NOT NULL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BULK = "ix_task_instance_history_bulk_operation_id"
_HAS_BULK = sa.text("bulk_operation_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_task_instance_history_change_id", table_name="task_instance_history")
    op.drop_index(_BULK, table_name="task_instance_history")
    op.create_index(
        _BULK,
        "task_instance_history",
        ["bulk_operation_id"],
        sqlite_where=_HAS_BULK,
        postgresql_where=_HAS_BULK,
    )


def downgrade() -> None:
    op.drop_index(_BULK, table_name="task_instance_history")
    op.create_index(_BULK, "task_instance_history", ["bulk_operation_id"])
    op.create_index("ix_task_instance_history_change_id", "task_instance_history", ["change_id"])
