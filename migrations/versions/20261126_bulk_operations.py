"""bulk operations, idempotency keys, resumable jobs

History rows point at their bulk operation (a foreign key now). On SQLite that rebuilds
task_instance_history, so its append-only triggers are installed again afterwards.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:57:51.714618
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from supplytrack.core import stash

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["api_tokens.id"], name=op.f("fk_idempotency_keys_actor_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("actor_id", "key", name=op.f("uq_idempotency_keys_actor_id_key")),
    )
    op.create_table(
        "bulk_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "STATUS_UPDATE",
                "DATE_SHIFT",
                "UNDO",
                name="kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "RUNNING",
                "APPLIED",
                "PARTIAL",
                "FAILED",
                "CANCELLED",
                "UNDONE",
                name="state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("undo_of_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["api_tokens.id"], name=op.f("fk_bulk_operations_actor_id_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_bulk_operations_job_id_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_bulk_operations_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["undo_of_id"],
            ["bulk_operations.id"],
            name=op.f("fk_bulk_operations_undo_of_id_bulk_operations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_operations")),
    )
    with op.batch_alter_table("bulk_operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bulk_operations_project_id_id"), ["project_id", "id"], unique=False
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cursor", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    # What this revision's downgrade set aside (core/stash.py), before the history's foreign
    # key to bulk_operations is checked.
    stash.restore_rows(revision, "idempotency_keys")
    stash.restore_rows(revision, "bulk_operations")
    stash.restore_columns(revision, "jobs", "id", _JOB_COLUMNS)

    with op.batch_alter_table("task_instance_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_instance_history_bulk_operation_id"),
            ["bulk_operation_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_task_instance_history_bulk_operation_id_bulk_operations"),
            "bulk_operations",
            ["bulk_operation_id"],
            ["id"],
        )
    _guard_sqlite_history()


_JOB_COLUMNS = ("cursor", "owner", "heartbeat_at", "cancel_requested")


def downgrade() -> None:
    stash.park_rows(revision, "idempotency_keys")
    stash.park_rows(revision, "bulk_operations")
    stash.park_columns(revision, "jobs", "id", _JOB_COLUMNS)
    with op.batch_alter_table("task_instance_history", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_task_instance_history_bulk_operation_id_bulk_operations"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_task_instance_history_bulk_operation_id"))
    _guard_sqlite_history()

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("cancel_requested")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("owner")
        batch_op.drop_column("cursor")

    with op.batch_alter_table("bulk_operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_operations_project_id_id"))

    op.drop_table("bulk_operations")
    op.drop_table("idempotency_keys")


def _guard_sqlite_history() -> None:
    """Reinstall the append-only triggers that a SQLite table rebuild dropped."""
    if op.get_bind().dialect.name != "sqlite":
        return
    table = "task_instance_history"
    for action in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action.lower()}")
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
