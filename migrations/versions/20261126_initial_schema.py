"""initial schema: every table of SPEC section 1, and an append-only audit trail

Revision ID: 0001
Revises:
Create Date: 2026-11-26 13:34:29.478792
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from supplytrack.core import stash

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PLANNING",
                "ACTIVE",
                "ON_HOLD",
                "COMPLETED",
                "ARCHIVED",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("sop_date", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "start_date IS NULL OR sop_date IS NULL OR sop_date >= start_date",
            name=op.f("ck_projects_sop_not_before_start"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_projects_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_projects_code")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "SUSPENDED",
                "INACTIVE",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_suppliers_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("code", name=op.f("uq_suppliers_code")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "manager",
                "viewer",
                "supplier",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(role = 'supplier') = (supplier_id IS NOT NULL)",
            name=op.f("ck_api_tokens_supplier_iff_supplier_role"),
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_api_tokens_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_tokens_digest")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "supplier_capabilities",
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("capability", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_capabilities_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "capability", name=op.f("pk_supplier_capabilities")),
    )
    with op.batch_alter_table("supplier_capabilities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_capabilities_capability_supplier_id"),
            ["capability", "supplier_id"],
            unique=False,
        )

    op.create_table(
        "supplier_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("ACTIVE", "REMOVED", name="status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_supplier_projects_version_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_supplier_projects_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_projects_supplier_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_projects")),
        sa.UniqueConstraint(
            "id",
            "project_id",
            "supplier_id",
            name=op.f("uq_supplier_projects_id_project_id_supplier_id"),
        ),
        sa.UniqueConstraint(
            "supplier_id", "project_id", name=op.f("uq_supplier_projects_supplier_id_project_id")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("supplier_projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_projects_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supplier_projects_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "task_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("canonical_due", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("required_capability", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_task_templates_version_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_task_templates_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_templates")),
        sa.UniqueConstraint("id", "project_id", name=op.f("uq_task_templates_id_project_id")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_task_templates_project_id_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("task_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_templates_project_id_canonical_due"),
            ["project_id", "canonical_due"],
            unique=False,
        )

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "QUEUED",
                "RUNNING",
                "SUCCEEDED",
                "FAILED",
                "CANCELLED",
                name="state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "total >= 0 AND processed >= 0 AND failed >= 0", name=op.f("ck_jobs_counts_positive")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_jobs_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["api_tokens.id"], name=op.f("fk_jobs_created_by_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_state"), ["state"], unique=False)

    op.create_table(
        "task_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_project_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("task_template_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "NOT_STARTED",
                "IN_PROGRESS",
                "SUBMITTED",
                "APPROVED",
                "REJECTED",
                "BLOCKED",
                "WAIVED",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("actual_due", sa.Date(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(status IN ('APPROVED', 'WAIVED')) = (completed_at IS NOT NULL)",
            name=op.f("ck_task_instances_completed_iff_done"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('SUBMITTED', 'APPROVED') OR submitted_at IS NOT NULL",
            name=op.f("ck_task_instances_submitted_has_time"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_task_instances_version_positive")),
        sa.ForeignKeyConstraint(
            ["supplier_project_id", "project_id", "supplier_id"],
            [
                "supplier_projects.id",
                "supplier_projects.project_id",
                "supplier_projects.supplier_id",
            ],
            name="fk_task_instances_assignment",
        ),
        sa.ForeignKeyConstraint(
            ["task_template_id", "project_id"],
            ["task_templates.id", "task_templates.project_id"],
            name="fk_task_instances_template",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_instances")),
        sa.UniqueConstraint(
            "supplier_project_id",
            "task_template_id",
            name=op.f("uq_task_instances_supplier_project_id_task_template_id"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_instances_actual_due"), ["actual_due"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_task_instances_project_id_id"), ["project_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_task_instances_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_task_instances_supplier_id_id"), ["supplier_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_task_instances_supplier_project_id_status"),
            ["supplier_project_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_task_instances_task_template_id"), ["task_template_id"], unique=False
        )

    op.create_table(
        "task_template_dependencies",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "template_id <> depends_on_id", name=op.f("ck_task_template_dependencies_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_id", "project_id"],
            ["task_templates.id", "task_templates.project_id"],
            name="fk_task_template_dependencies_prerequisite",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id", "project_id"],
            ["task_templates.id", "task_templates.project_id"],
            name="fk_task_template_dependencies_template",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "template_id", "depends_on_id", name=op.f("pk_task_template_dependencies")
        ),
    )
    with op.batch_alter_table("task_template_dependencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_template_dependencies_depends_on_id"),
            ["depends_on_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_task_template_dependencies_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "task_instance_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_instance_id", sa.Integer(), nullable=False),
        sa.Column(
            "field",
            sa.Enum(
                "STATUS",
                "ACTUAL_DUE",
                "NOTES",
                name="field",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
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
        sa.Column("bulk_operation_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["api_tokens.id"],
            name=op.f("fk_task_instance_history_actor_id_api_tokens"),
        ),
        sa.ForeignKeyConstraint(
            ["task_instance_id"],
            ["task_instances.id"],
            name=op.f("fk_task_instance_history_task_instance_id_task_instances"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_instance_history")),
    )
    with op.batch_alter_table("task_instance_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_instance_history_task_instance_id_id"),
            ["task_instance_id", "id"],
            unique=False,
        )
    _make_history_append_only()


# Nothing older to keep anything in: going below the first revision drops every row (the
# CLI asks for --yes when the database holds any).
DOWNGRADE_DROPS_DATA = True


def downgrade() -> None:
    stash.drop_all()
    _drop_history_guard()
    with op.batch_alter_table("task_instance_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_instance_history_task_instance_id_id"))

    op.drop_table("task_instance_history")
    with op.batch_alter_table("task_template_dependencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_template_dependencies_project_id"))
        batch_op.drop_index(batch_op.f("ix_task_template_dependencies_depends_on_id"))

    op.drop_table("task_template_dependencies")
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_instances_task_template_id"))
        batch_op.drop_index(batch_op.f("ix_task_instances_supplier_project_id_status"))
        batch_op.drop_index(batch_op.f("ix_task_instances_supplier_id_id"))
        batch_op.drop_index(batch_op.f("ix_task_instances_status"))
        batch_op.drop_index(batch_op.f("ix_task_instances_project_id_id"))
        batch_op.drop_index(batch_op.f("ix_task_instances_actual_due"))

    op.drop_table("task_instances")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_state"))

    op.drop_table("jobs")
    with op.batch_alter_table("task_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_templates_project_id_canonical_due"))

    op.drop_table("task_templates")
    with op.batch_alter_table("supplier_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_projects_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_supplier_projects_project_id"))

    op.drop_table("supplier_projects")
    with op.batch_alter_table("supplier_capabilities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_capabilities_capability_supplier_id"))

    op.drop_table("supplier_capabilities")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_supplier_id"))

    op.drop_table("api_tokens")
    op.drop_table("suppliers")
    op.drop_table("projects")


_GUARDED = "task_instance_history"


def _make_history_append_only() -> None:
    """The audit trail is evidence: the database itself refuses to change or delete it."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_GUARDED}_no_{action.lower()} BEFORE {action} ON {_GUARDED} "
                f"BEGIN SELECT RAISE(ABORT, '{_GUARDED} is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION supplytrack_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME "
        "USING ERRCODE = 'integrity_constraint_violation'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {_GUARDED}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        f"ON {_GUARDED} FOR EACH STATEMENT EXECUTE FUNCTION supplytrack_append_only()"
    )


def _drop_history_guard() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {_GUARDED}_no_{action}")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {_GUARDED}_append_only ON {_GUARDED}")
    op.execute("DROP FUNCTION IF EXISTS supplytrack_append_only()")
