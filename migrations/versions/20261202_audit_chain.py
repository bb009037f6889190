"""audit hash chains: prev_hash and row_hash on the history and the audit log, checkpoints

Every task_instance_history row chains to the previous row (by id) of its task instance,
every audit_log row to the previous row of its (entity, entity_id); core/chain.py gives the
canonical text and ADR 0015 the reasons. The database fills both columns in the inserting
statement, for every writer:

- PostgreSQL: a BEFORE INSERT trigger per row (plpgsql, VOLATILE, so that it sees the rows an
  earlier part of the same multi-row statement inserted). History writers already hold the
  instance's row lock when they add its rows; audit_log's trigger takes a transaction-level
  advisory lock on one of 256 buckets of the chain key, and takes a fresh id when a row of its
  chain committed meanwhile with a larger one.
- SQLite: an AFTER INSERT trigger that UPDATEs the new row's two columns with
  st_chain_hash(), which core/db.py registers on every connection (a connection without it
  cannot add rows). The append-only UPDATE guard lets exactly that fill through: NULL hash
  columns set, nothing else changed.

Rows that arrive with a row_hash (a restore, COPY) keep theirs. Existing rows are hashed here,
in chain order, with the append-only guard stepping aside (PostgreSQL) or letting the fill
through (SQLite). A later SQLite rebuild of either table (batch mode) drops these triggers:
such a revision has to install them again (install_sqlite()).

audit_checkpoints holds the signed chain heads (append-only, row-level security for admin and
the system). The downgrade sets its rows aside (core/stash.py) and drops the columns and
triggers; the hashes are recomputed by the upgrade after it, identical.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:00:00
"""

# ruff: noqa: S608 - the statements are built from this module's and core/chain.py's constants

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from supplytrack.core import chain, stash

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECKPOINTS = "audit_checkpoints"
_INSTANT = 'to_char(NEW.changed_at, \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
_FUNCTIONS = {
    chain.HISTORY.table: "supplytrack_history_chain",
    chain.AUDIT.table: "supplytrack_audit_chain",
}
# pg_advisory_xact_lock(class, bucket) for audit_log chains: 'STCH', and 256 buckets, so that
# a transaction writing many entities' rows holds at most 256 locks (the shared lock table).
_LOCK_CLASS = 1398031176
_BUCKETS = 256
_BATCH = 5000


def _pg_value(column: str) -> str:
    # Integers in decimal, text as it is, the instant as core/chain.py's instant_text() (a
    # naive UTC timestamp: to_char() does not look at the session's TimeZone).
    return _INSTANT if column == "changed_at" else f"NEW.{column}::text"


def _pg_canonical(layout: chain.ChainLayout) -> str:
    parts = [f"'{layout.tag}'"]
    parts += [f"supplytrack_chain_enc({_pg_value(column)})" for column in layout.columns]
    parts.append("supplytrack_chain_enc(NEW.prev_hash)")
    return "concat_ws('|', " + ", ".join(parts) + ")"


def _pg_same_chain(layout: chain.ChainLayout, alias: str) -> str:
    return " AND ".join(f"{alias}.{column} = NEW.{column}" for column in layout.key)


def _pg_install() -> None:
    op.execute(
        "CREATE FUNCTION supplytrack_chain_enc(value text) RETURNS text"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE"
        " AS $$ SELECT CASE WHEN value IS NULL THEN '~'"
        " ELSE length(value)::text || ':' || value END $$"
    )
    history = chain.HISTORY
    op.execute(
        f"CREATE FUNCTION {_FUNCTIONS[history.table]}() RETURNS trigger"
        " LANGUAGE plpgsql VOLATILE AS $$ BEGIN"
        " IF NEW.row_hash IS NOT NULL THEN RETURN NEW; END IF;"
        # The writer holds the instance's row lock: no other transaction adds to this chain.
        f" NEW.prev_hash := (SELECT p.row_hash FROM {history.table} p"
        f" WHERE {_pg_same_chain(history, 'p')} AND p.id < NEW.id ORDER BY p.id DESC LIMIT 1);"
        " NEW.row_hash := encode(sha256(convert_to("
        f"{_pg_canonical(history)}, 'UTF8')), 'hex');"
        " RETURN NEW; END $$"
    )
    audit = chain.AUDIT
    op.execute(
        f"CREATE FUNCTION {_FUNCTIONS[audit.table]}() RETURNS trigger"
        " LANGUAGE plpgsql VOLATILE AS $$ DECLARE last_id bigint; BEGIN"
        " IF NEW.row_hash IS NOT NULL THEN RETURN NEW; END IF;"
        f" PERFORM pg_advisory_xact_lock({_LOCK_CLASS},"
        f" hashtext(NEW.entity::text || ':' || NEW.entity_id::text) & {_BUCKETS - 1});"
        # The id was drawn before the lock: a row of this chain committed meanwhile may have a
        # larger one, and the chain runs by id.
        f" SELECT p.id, p.row_hash INTO last_id, NEW.prev_hash FROM {audit.table} p"
        f" WHERE {_pg_same_chain(audit, 'p')} ORDER BY p.id DESC LIMIT 1;"
        " IF last_id IS NOT NULL AND last_id >= NEW.id THEN"
        f" NEW.id := nextval(pg_get_serial_sequence('{audit.table}', 'id')); END IF;"
        " NEW.row_hash := encode(sha256(convert_to("
        f"{_pg_canonical(audit)}, 'UTF8')), 'hex');"
        " RETURN NEW; END $$"
    )
    for table, function in _FUNCTIONS.items():
        op.execute(
            f"CREATE TRIGGER {table}_chain BEFORE INSERT ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def _pg_uninstall() -> None:
    for table, function in _FUNCTIONS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_chain ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.execute("DROP FUNCTION IF EXISTS supplytrack_chain_enc(text)")


def _plain_guard(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    )


def sqlite_guard(layout: chain.ChainLayout) -> str:
    """The UPDATE guard that lets only the first fill of the hash columns through."""
    unchanged = " AND ".join(f"NEW.{column} IS OLD.{column}" for column in layout.columns)
    return (
        f"CREATE TRIGGER {layout.table}_no_update BEFORE UPDATE ON {layout.table} "
        "WHEN NOT (OLD.row_hash IS NULL AND OLD.prev_hash IS NULL AND NEW.row_hash IS NOT NULL"
        f" AND {unchanged}) "
        f"BEGIN SELECT RAISE(ABORT, '{layout.table} is append-only'); END"
    )


def sqlite_chain_trigger(layout: chain.ChainLayout) -> str:
    """AFTER INSERT: link the new row to its chain and hash it (st_chain_hash, core/db.py)."""
    same = " AND ".join(f"p.{column} = NEW.{column}" for column in layout.key)
    previous = (
        f"(SELECT p.row_hash FROM {layout.table} p WHERE {same} AND p.id < NEW.id"
        " ORDER BY p.id DESC LIMIT 1)"
    )
    values = ", ".join(f"NEW.{column}" for column in layout.columns)
    return (
        f"CREATE TRIGGER {layout.table}_chain AFTER INSERT ON {layout.table} "
        "WHEN NEW.row_hash IS NULL BEGIN "
        f"UPDATE {layout.table} SET prev_hash = {previous}, "
        f"row_hash = {chain.SQLITE_FUNCTION}('{layout.tag}', {previous}, {values}) "
        "WHERE id = NEW.id; END"
    )


def install_sqlite(layout: chain.ChainLayout) -> None:
    """The chain trigger and the narrowed UPDATE guard of one table (SQLite)."""
    op.execute(f"DROP TRIGGER IF EXISTS {layout.table}_no_update")
    op.execute(sqlite_guard(layout))
    op.execute(f"DROP TRIGGER IF EXISTS {layout.table}_chain")
    op.execute(sqlite_chain_trigger(layout))


def _backfill(layout: chain.ChainLayout) -> None:
    """Hash the rows already there, chain by chain in id order (keyset pages, flat memory)."""
    bind = op.get_bind()
    order = ", ".join((*layout.key, "id"))
    listed = ", ".join(layout.columns)
    first = sa.text(f"SELECT {listed} FROM {layout.table} ORDER BY {order} LIMIT {_BATCH}")
    marks = ", ".join(f":k{n}" for n in range(len(layout.key) + 1))
    after = sa.text(
        f"SELECT {listed} FROM {layout.table} WHERE ({order}) > ({marks})"
        f" ORDER BY {order} LIMIT {_BATCH}"
    )
    update = sa.text(
        f"UPDATE {layout.table} SET prev_hash = :prev, row_hash = :hash WHERE id = :id"
    )
    positions = [layout.columns.index(column) for column in (*layout.key, "id")]
    current: tuple[Any, ...] | None = None
    head: str | None = None
    rows = bind.execute(first).all()
    while rows:
        changes = []
        for row in rows:
            key = tuple(row[i] for i in positions[:-1])
            if key != current:
                current, head = key, None
            digest = chain.row_hash(layout, tuple(row), head)
            changes.append({"prev": head, "hash": digest, "id": row[positions[-1]]})
            head = digest
        bind.execute(update, changes)
        last = rows[-1]
        rows = bind.execute(after, {f"k{n}": last[i] for n, i in enumerate(positions)}).all()


def _checkpoints_table() -> None:
    op.create_table(
        _CHECKPOINTS,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("history_boundary", sa.BigInteger(), nullable=False),
        sa.Column("audit_boundary", sa.BigInteger(), nullable=False),
        sa.Column("history_mark", sa.BigInteger(), nullable=False),
        sa.Column("audit_mark", sa.BigInteger(), nullable=False),
        sa.Column("history_rows", sa.BigInteger(), nullable=False),
        sa.Column("audit_rows", sa.BigInteger(), nullable=False),
        sa.Column("history_heads", sa.String(length=64), nullable=False),
        sa.Column("audit_heads", sa.String(length=64), nullable=False),
        sa.Column("previous_signature", sa.String(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_CHECKPOINTS}_no_{action.lower()} BEFORE {action} "
                f"ON {_CHECKPOINTS} BEGIN SELECT RAISE(ABORT, '{_CHECKPOINTS} is append-only'); END"
            )
        return
    op.execute(
        f"CREATE TRIGGER {_CHECKPOINTS}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        f"ON {_CHECKPOINTS} FOR EACH STATEMENT EXECUTE FUNCTION supplytrack_append_only()"
    )
    # Row-level security (0010): the admin reads them, the system (workers, the CLI) writes.
    who = "(SELECT supplytrack_role()) IN ('admin', 'system')"
    op.execute(f"CREATE POLICY staff_read ON {_CHECKPOINTS} FOR SELECT USING ({who})")
    op.execute(
        f"CREATE POLICY staff_write ON {_CHECKPOINTS} FOR ALL USING ({who}) WITH CHECK ({who})"
    )
    op.execute(f"ALTER TABLE {_CHECKPOINTS} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {_CHECKPOINTS} FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for layout in chain.LAYOUTS:
        # ALTER TABLE ADD COLUMN on both engines: no rebuild, the other triggers stay.
        op.add_column(layout.table, sa.Column("prev_hash", sa.String(length=64), nullable=True))
        op.add_column(layout.table, sa.Column("row_hash", sa.String(length=64), nullable=True))
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {layout.table}_no_update")
            op.execute(sqlite_guard(layout))
            _backfill(layout)
            op.execute(sqlite_chain_trigger(layout))
        else:
            op.execute(f"ALTER TABLE {layout.table} DISABLE TRIGGER {layout.table}_append_only")
            _backfill(layout)
            op.execute(f"ALTER TABLE {layout.table} ENABLE TRIGGER {layout.table}_append_only")
    if not sqlite:
        _pg_install()
    _checkpoints_table()
    stash.restore_rows(revision, _CHECKPOINTS)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    stash.park_rows(revision, _CHECKPOINTS)
    op.drop_table(_CHECKPOINTS)
    if not sqlite:
        _pg_uninstall()
    for layout in chain.LAYOUTS:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {layout.table}_chain")
            op.execute(f"DROP TRIGGER IF EXISTS {layout.table}_no_update")
            op.execute(_plain_guard(layout.table))
            # SQLite 3.35+ drops a column in place (no rebuild, the guards stay).
            op.execute(f"ALTER TABLE {layout.table} DROP COLUMN row_hash")
            op.execute(f"ALTER TABLE {layout.table} DROP COLUMN prev_hash")
        else:
            op.drop_column(layout.table, "row_hash")
            op.drop_column(layout.table, "prev_hash")
