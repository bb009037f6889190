"""the supplier access log

Every request of a supplier token (and, with ACCESS_LOG_STAFF, of staff tokens): when, which
token and supplier, the route and the path and query string asked for, the answer's status and
the request id. No foreign keys: entries outlive the tokens and suppliers they name, until
ACCESS_LOG_RETENTION_DAYS. The downgrade sets the entries aside (core/stash.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from supplytrack.core import stash

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_log_supplier_id_id"), ["supplier_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_access_log_token_id_id"), ["token_id", "id"], unique=False
        )
    stash.restore_rows(revision, "access_log")


def downgrade() -> None:
    stash.park_rows(revision, "access_log")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_token_id_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_supplier_id_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_at"))
    op.drop_table("access_log")
