"""retention: when projects closed, how long they are kept, legal holds, disposal's tombstones

- projects.closed_at (when it last became COMPLETED or ARCHIVED; filled from updated_at for
  the projects closed already) and projects.retention_years (a customer's longer retention;
  NULL: the RETENTION_YEARS setting).
- legal_holds: a hold on a project or a supplier, placed and released, blocks disposal.
- retention_runs: each `retention apply`, with what it disposed of.
- history_tombstones: the id, chain and hash of each disposed history row (no content), so
  that the signed checkpoints of those id ranges still verify (audit/chain.py).
- The history's append-only DELETE guard lets retention through, and nothing else: a row
  may go only once its tombstone is written, and only when the transaction set
  supplytrack.disposal = 'on' (PostgreSQL; flows/retention.py does, after its checks) or
  st_disposing() says so (SQLite, core/chain.py).
- SQLite: task_instance_history is rebuilt with AUTOINCREMENT, so that the ids of disposed
  rows (their tombstones) are never drawn again; its triggers are installed again.

The new tables get row-level security on PostgreSQL (staff read; the admin and the system
write). The downgrade sets their rows and the two columns aside (core/stash.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:00:00
"""

# ruff: noqa: S608 - the DDL is built from this module's and core/chain.py's constants only

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from supplytrack.core import chain, stash

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("legal_holds", "retention_runs", "history_tombstones")
_COLUMNS = ("closed_at", "retention_years")
_ROLE = "(SELECT supplytrack_role())"
_READ = f"{_ROLE} IN ('admin', 'manager', 'viewer', 'system')"
_WRITE = f"{_ROLE} IN ('admin', 'system')"
_HISTORY = "task_instance_history"

_GUARD_BEFORE = (
    "CREATE OR REPLACE FUNCTION supplytrack_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME "
    "USING ERRCODE = 'integrity_constraint_violation'; END $$"
)
_GUARD_AFTER = (
    "CREATE OR REPLACE FUNCTION supplytrack_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    f"IF TG_OP = 'DELETE' AND TG_TABLE_NAME = '{_HISTORY}' "
    "AND current_setting('supplytrack.disposal', true) = 'on' THEN RETURN NULL; END IF; "
    "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME "
    "USING ERRCODE = 'integrity_constraint_violation'; END $$"
)


# A history row may be deleted only once its tombstone is there (row by row, PostgreSQL).
_TOMBSTONED = (
    "CREATE FUNCTION supplytrack_history_tombstoned() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF NOT EXISTS (SELECT 1 FROM history_tombstones t WHERE t.id = OLD.id) THEN "
    f"RAISE EXCEPTION '{_HISTORY} row % has no tombstone: only retention deletes it', OLD.id "
    "USING ERRCODE = 'integrity_constraint_violation'; END IF; RETURN OLD; END $$"
)


def _sqlite_delete_guard(disposal: bool) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_no_delete")
    when = (
        " WHEN st_disposing() = 0 OR NOT EXISTS"
        " (SELECT 1 FROM history_tombstones t WHERE t.id = OLD.id)"
        if disposal
        else ""
    )
    op.execute(
        f"CREATE TRIGGER {_HISTORY}_no_delete BEFORE DELETE ON {_HISTORY}{when} "
        f"BEGIN SELECT RAISE(ABORT, '{_HISTORY} is append-only'); END"
    )


def _sqlite_chain_triggers() -> None:
    """The chain trigger and the narrowed UPDATE guard of 0012, after a rebuild dropped them."""
    layout = chain.HISTORY
    unchanged = " AND ".join(f"NEW.{column} IS OLD.{column}" for column in layout.columns)
    op.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_no_update")
    op.execute(
        f"CREATE TRIGGER {_HISTORY}_no_update BEFORE UPDATE ON {_HISTORY} "
        "WHEN NOT (OLD.row_hash IS NULL AND OLD.prev_hash IS NULL AND NEW.row_hash IS NOT NULL"
        f" AND {unchanged}) "
        f"BEGIN SELECT RAISE(ABORT, '{_HISTORY} is append-only'); END"
    )
    same = " AND ".join(f"p.{column} = NEW.{column}" for column in layout.key)
    previous = (
        f"(SELECT p.row_hash FROM {_HISTORY} p WHERE {same} AND p.id < NEW.id"
        " ORDER BY p.id DESC LIMIT 1)"
    )
    values = ", ".join(f"NEW.{column}" for column in layout.columns)
    op.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_chain")
    op.execute(
        f"CREATE TRIGGER {_HISTORY}_chain AFTER INSERT ON {_HISTORY} "
        "WHEN NEW.row_hash IS NULL BEGIN "
        f"UPDATE {_HISTORY} SET prev_hash = {previous}, "
        f"row_hash = {chain.SQLITE_FUNCTION}('{layout.tag}', {previous}, {values}) "
        "WHERE id = NEW.id; END"
    )


def _sqlite_rebuild(autoincrement: bool) -> None:
    """Rebuild the history with or without AUTOINCREMENT (its triggers follow)."""
    with op.batch_alter_table(
        _HISTORY, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
    _sqlite_chain_triggers()


def _secure(table: str) -> None:
    op.execute(f"CREATE POLICY staff_read ON {table} FOR SELECT USING ({_READ})")
    op.execute(
        f"CREATE POLICY staff_write ON {table} FOR ALL USING ({_WRITE}) WITH CHECK ({_WRITE})"
    )
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("projects", sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.add_column("projects", sa.Column("retention_years", sa.Integer(), nullable=True))
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "(project_id IS NULL) <> (supplier_id IS NULL)",
            name=op.f("ck_legal_holds_one_project_or_supplier"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_legal_holds_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_legal_holds_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(op.f("ix_legal_holds_project_id"), "legal_holds", ["project_id"])
    op.create_index(op.f("ix_legal_holds_supplier_id"), "legal_holds", ["supplier_id"])
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    op.create_table(
        "history_tombstones",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("task_instance_id", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("retention_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["retention_run_id"],
            ["retention_runs.id"],
            name=op.f("fk_history_tombstones_retention_run_id_retention_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_tombstones")),
    )
    op.create_index(
        op.f("ix_history_tombstones_task_instance_id_id"),
        "history_tombstones",
        ["task_instance_id", "id"],
    )
    op.create_index(
        op.f("ix_history_tombstones_retention_run_id"), "history_tombstones", ["retention_run_id"]
    )
    op.execute(
        "UPDATE projects SET closed_at = updated_at WHERE status IN ('COMPLETED', 'ARCHIVED')"
    )
    stash.restore_columns(revision, "projects", "id", _COLUMNS)
    for table in _TABLES:
        stash.restore_rows(revision, table)
    if sqlite:
        _sqlite_rebuild(autoincrement=True)
        _sqlite_delete_guard(disposal=True)
        return
    op.execute(_GUARD_AFTER)
    op.execute(_TOMBSTONED)
    op.execute(
        f"CREATE TRIGGER {_HISTORY}_tombstoned BEFORE DELETE ON {_HISTORY}"
        " FOR EACH ROW EXECUTE FUNCTION supplytrack_history_tombstoned()"
    )
    for table in _TABLES:
        _secure(table)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in _TABLES:
        stash.park_rows(revision, table)
    stash.park_columns(revision, "projects", "id", _COLUMNS)
    if sqlite:
        _sqlite_rebuild(autoincrement=False)
        _sqlite_delete_guard(disposal=False)
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {_HISTORY}_tombstoned ON {_HISTORY}")
        op.execute("DROP FUNCTION IF EXISTS supplytrack_history_tombstoned()")
        op.execute(_GUARD_BEFORE)
    op.drop_table("history_tombstones")
    op.drop_table("retention_runs")
    op.drop_table("legal_holds")
    op.drop_column("projects", "retention_years")
    op.drop_column("projects", "closed_at")
