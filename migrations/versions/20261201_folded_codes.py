"""codes unique regardless of case and surrounding spaces

"EV-2028-A" and "ev-2028-a" name the same project to the people who type them, so a second one
is refused like an exact duplicate. Codes stay stored as they were sent; a stored generated
column, code_key = lower(trim(code)), carries a unique constraint (an expression index would
do the same, but SQLite's reflection skips those). A database that already holds such twins
cannot take the constraint: the upgrade names them and changes nothing. On SQLite the tables
are rebuilt (a stored column cannot be added otherwise).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("projects", "suppliers")
# SQLite rebuilds the tables: they keep AUTOINCREMENT (ids are never reused).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def _refuse_twins(table: str) -> None:
    twins = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT lower(trim(code)), count(*) FROM {table}"  # noqa: S608
                " GROUP BY lower(trim(code)) HAVING count(*) > 1 ORDER BY 1"
            )
        )
        .all()
    )
    if twins:
        listed = ", ".join(f"{code} ({count})" for code, count in twins[:20])
        msg = (
            f"{table} has codes that differ only in case or spaces: {listed};"
            " rename all but one of each, then upgrade again"
        )
        raise RuntimeError(msg)


def upgrade() -> None:
    for table in _TABLES:
        _refuse_twins(table)
        with op.batch_alter_table(table, table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "code_key",
                    sa.String(length=64),
                    sa.Computed("lower(trim(code))", persisted=True),
                    nullable=True,
                )
            )
            batch_op.create_unique_constraint(op.f(f"uq_{table}_code_key"), ["code_key"])


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_code_key"), type_="unique")
            batch_op.drop_column("code_key")
