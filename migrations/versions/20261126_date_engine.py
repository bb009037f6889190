"""date engine: project calendars, reason codes and change ids in history, audit log

On SQLite, adding a constrained column rebuilds task_instance_history (batch mode), which
drops its append-only triggers; they are installed again right after. audit_log is guarded
the same way from the start.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:44:08.934832
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from supplytrack.core import stash

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_calendars",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("working_weekdays", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_project_calendars_version_positive")),
        sa.CheckConstraint(
            "working_weekdays BETWEEN 1 AND 127", name=op.f("ck_project_calendars_weekdays_mask")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_calendars_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_calendars")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "entity",
            sa.Enum(
                "PROJECT",
                "TEMPLATE",
                "CALENDAR",
                "SUPPLIER",
                name="entity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "reason_code",
            sa.Enum(
                "SUPPLIER_REQUEST",
                "CUSTOMER_CHANGE",
                "TOOLING_DELAY",
                "MATERIAL_SHORTAGE",
                "QUALITY_ISSUE",
                "ENGINEERING_CHANGE",
                "PLAN_CHANGE",
                "OTHER",
                name="reason_code",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "API",
                "BULK",
                "CASCADE",
                "SYSTEM",
                "IMPORT",
                name="source",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("change_id", sa.String(length=32), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["api_tokens.id"], name=op.f("fk_audit_log_actor_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_change_id"), ["change_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_entity_entity_id_id"),
            ["entity", "entity_id", "id"],
            unique=False,
        )

    op.create_table(
        "project_holidays",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project_calendars.project_id"],
            name=op.f("fk_project_holidays_project_id_project_calendars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "day", name=op.f("pk_project_holidays")),
    )
    with op.batch_alter_table("task_instance_history", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reason_code",
                sa.Enum(
                    "SUPPLIER_REQUEST",
                    "CUSTOMER_CHANGE",
                    "TOOLING_DELAY",
                    "MATERIAL_SHORTAGE",
                    "QUALITY_ISSUE",
                    "ENGINEERING_CHANGE",
                    "PLAN_CHANGE",
                    "OTHER",
                    name="reason_code",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("change_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_task_instance_history_change_id"), ["change_id"], unique=False
        )
    _restore()
    _guard("task_instance_history", sqlite_only=True)
    _guard("audit_log")


_HISTORY_COLUMNS = ("reason_code", "change_id")


def _restore() -> None:
    """Put back what this revision's downgrade set aside (core/stash.py)."""
    stash.restore_rows(revision, "project_calendars")
    stash.restore_rows(revision, "project_holidays")
    stash.restore_rows(revision, "audit_log")
    # The history is append-only: its guard steps aside for the values it held before.
    if op.get_bind().dialect.name == "sqlite":
        _unguard("task_instance_history")
        stash.restore_columns(revision, "task_instance_history", "id", _HISTORY_COLUMNS)
        return
    table = "task_instance_history"
    op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    stash.restore_columns(revision, table, "id", _HISTORY_COLUMNS)
    op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def downgrade() -> None:
    for table in ("project_calendars", "project_holidays", "audit_log"):
        stash.park_rows(revision, table)
    stash.park_columns(revision, "task_instance_history", "id", _HISTORY_COLUMNS)
    _unguard("audit_log")
    with op.batch_alter_table("task_instance_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_instance_history_change_id"))
        batch_op.drop_column("change_id")
        batch_op.drop_constraint(op.f("ck_task_instance_history_reason_code"), type_="check")
        batch_op.drop_column("reason_code")
    _guard("task_instance_history", sqlite_only=True)

    op.drop_table("project_holidays")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_entity_id_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_change_id"))

    op.drop_table("audit_log")
    op.drop_table("project_calendars")


def _guard(table: str, *, sqlite_only: bool = False) -> None:
    """Refuse UPDATE and DELETE on an audit table (the function exists since 0001)."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action.lower()}")
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    elif not sqlite_only:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION supplytrack_append_only()"
        )


def _unguard(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
