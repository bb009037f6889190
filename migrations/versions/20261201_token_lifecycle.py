"""token lifecycle: expiry, rotation, last use

api_tokens gains expires_at (a token is refused from then on) and replaced_by_id (the token a
rotation made in its place). The last use of each token goes to a table of its own,
api_token_usage, written at most once a minute per token and process: an UPDATE of api_tokens
would invalidate every cached token lookup each time.

The downgrade sets expiry, rotation and last use aside (core/stash.py); an older release would
not refuse an expired token meanwhile.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from supplytrack.core import stash

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOKEN_COLUMNS = ("expires_at", "replaced_by_id")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("replaced_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_replaced_by_id_api_tokens"),
            "api_tokens",
            ["replaced_by_id"],
            ["id"],
        )
    op.create_table(
        "api_token_usage",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_api_token_usage_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_token_usage")),
    )
    stash.restore_rows(revision, "api_token_usage")
    stash.restore_columns(revision, "api_tokens", "id", _TOKEN_COLUMNS)


def downgrade() -> None:
    stash.park_rows(revision, "api_token_usage")
    stash.park_columns(revision, "api_tokens", "id", _TOKEN_COLUMNS)
    op.drop_table("api_token_usage")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_api_tokens_replaced_by_id_api_tokens"), type_="foreignkey"
        )
        batch_op.drop_column("replaced_by_id")
        batch_op.drop_column("expires_at")
