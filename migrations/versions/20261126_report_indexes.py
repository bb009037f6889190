"""reports: a partial index of rejections, and instances by (project, status)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 14:28:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PREDICATE = "field = 'STATUS' AND new_value = 'REJECTED'"


def upgrade() -> None:
    op.create_index(
        "ix_task_instances_project_id_status", "task_instances", ["project_id", "status"]
    )
    op.create_index(
        "ix_task_instance_history_rejected",
        "task_instance_history",
        ["task_instance_id"],
        sqlite_where=sa.text(_PREDICATE),
        postgresql_where=sa.text(_PREDICATE),
    )


def downgrade() -> None:
    op.drop_index("ix_task_instance_history_rejected", table_name="task_instance_history")
    op.drop_index("ix_task_instances_project_id_status", table_name="task_instances")
