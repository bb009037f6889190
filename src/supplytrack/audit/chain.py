"""Verify the audit tables' hash chains and make signed checkpoints of them (ADR 0015).

``verify`` walks task_instance_history and audit_log in (chain key, id) order, a page at a
time (keyset, through the (key, id) indexes), keeping only the current chain's last hash: each
row's hash must be the hash of its canonical text (core/chain.py), and its prev_hash the
hash of the row before it in its chain. Then every checkpoint: its HMAC-SHA256 signature, its
link to the checkpoint before it, and the rows and chain heads of the id range it covers.

A checkpoint covers, per table, the rows with ids in (the previous checkpoint's boundary, its
boundary]: how many, and a digest of the previous checkpoint's digest and, chain by chain,
the newest row of each chain in that range (its key, id and hash). Its boundary is the
newest ids seen by a checkpoint made at least AUDIT_CHECKPOINT_GRACE_SECONDS earlier (the
"mark"): any transaction that drew an id below it has committed or rolled back by then, so
no later commit can add a row inside a range that is already signed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from supplytrack.audit.chain_models import AuditCheckpoint
from supplytrack.core import chain
from supplytrack.core.chain import ChainLayout
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.settings import Settings

PAGE = 5000
CHECKPOINT_TAG = "checkpoint/1"
# pg_advisory_xact_lock(class, key) that keeps two checkpoint writers apart (the chain
# triggers use the same class with keys 0..255).
_LOCK_CLASS = 1398031176
_CHECKPOINT_LOCK = -1

CONTENT_CHANGED = "content changed"
HASH_MISSING = "hash missing"
LINK_BROKEN = "link broken"
CHECKPOINT_HEADS = "checkpoint head missing"
CHECKPOINT_LINK = "checkpoint link broken"
SIGNATURE = "signature invalid"
UNKNOWN_KEY = "signing key unknown"


class CheckpointError(SupplyTrackError):
    """A checkpoint cannot be made (no signing key)."""


@dataclass(frozen=True, slots=True)
class Break:
    """One broken link: where, and what is wrong."""

    table: str
    chain: str
    row_id: int
    problem: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The break as the JSON output names it."""
        return {
            "table": self.table,
            "chain": self.chain,
            "rowId": self.row_id,
            "problem": self.problem,
            "detail": self.detail,
        }

    def line(self) -> str:
        """One line for a person."""
        return f"{self.table} chain {self.chain} row {self.row_id}: {self.problem} ({self.detail})"


@dataclass(slots=True)
class TableSummary:
    """What the walk of one table saw."""

    table: str
    rows: int = 0
    chains: int = 0
    breaks: int = 0
    first: Break | None = None


@dataclass(slots=True)
class Report:
    """The outcome of ``verify``: per table, the checkpoints, the first breaks."""

    tables: list[TableSummary] = field(default_factory=list)
    checkpoints: int = 0
    checkpoint_breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every chain and checkpoint held."""
        return not self.checkpoint_breaks and all(table.breaks == 0 for table in self.tables)

    def first_breaks(self) -> list[Break]:
        """The first broken link of each table, then the checkpoints' first."""
        found = [table.first for table in self.tables if table.first is not None]
        return found + self.checkpoint_breaks[:1]

    def to_json(self) -> dict[str, Any]:
        """The report as ``audit verify --json`` prints it."""
        return {
            "ok": self.ok,
            "tables": [
                {
                    "table": table.table,
                    "rows": table.rows,
                    "chains": table.chains,
                    "breaks": table.breaks,
                    "firstBreak": table.first.to_json() if table.first else None,
                }
                for table in self.tables
            ],
            "checkpoints": self.checkpoints,
            "checkpointBreaks": [found.to_json() for found in self.checkpoint_breaks],
        }


# Keys ------------------------------------------------------------------------------------


def key_id(key: str) -> str:
    """A short public name of a signing key (which key signed a checkpoint)."""
    return hashlib.sha256(f"supplytrack-audit-key|{key}".encode()).hexdigest()[:16]


def signing_keys(settings: Settings) -> dict[str, str]:
    """Every key a checkpoint may be verified with, by key id (current and previous)."""
    keys = [settings.audit_signing_key.get_secret_value()] if settings.audit_signing_key else []
    older = settings.audit_signing_previous_keys
    keys += [key.strip() for key in (older.get_secret_value() if older else "").split(",")]
    return {key_id(key): key for key in keys if key}


# Walking the chains ----------------------------------------------------------------------


def _order(layout: ChainLayout) -> str:
    return ", ".join((*layout.key, "id"))


TOMBSTONES = "history_tombstones"


def _source(layout: ChainLayout, listed: str, tombstones: bool) -> str:
    """The rows to read: the table, or (history) the table and the tombstones of disposal.

    A tombstone (retention, flows/retention.py) keeps a disposed row's id, chain and hash, no
    content: enough for the chain heads a checkpoint signed, never for the content check.
    """
    if not tombstones:
        return layout.table
    kept = {"id", *layout.key}
    dead = ", ".join(
        ("row_hash", "NULL", *(c if c in kept else f"NULL AS {c}" for c in layout.columns))
    )
    return (
        f"(SELECT {listed} FROM {layout.table}"  # noqa: S608  # nosec B608
        f" UNION ALL SELECT {dead} FROM {TOMBSTONES}) AS chained"
    )


def _pages(
    connection: Connection,
    layout: ChainLayout,
    low: int | None = None,
    high: int | None = None,
    *,
    tombstones: bool = False,
) -> Iterator[Sequence[Any]]:
    """Every row (id in (low, high] when given): the hash columns, then layout.columns."""
    listed = ", ".join(("row_hash", "prev_hash", *layout.columns))
    order = _order(layout)
    marks = ", ".join(f":k{n}" for n in range(len(layout.key) + 1))
    bounds = "" if low is None else " AND id > :low AND id <= :high"
    source = _source(layout, listed, tombstones)
    # nosemgrep: text-with-interpolation - column and table names of core/chain.py's layouts
    first = text(
        f"SELECT {listed} FROM {source} WHERE 1 = 1{bounds} ORDER BY {order} LIMIT {PAGE}"  # noqa: S608  # nosec B608
    )
    after = text(
        f"SELECT {listed} FROM {source} WHERE ({order}) > ({marks}){bounds}"  # noqa: S608  # nosec B608
        f" ORDER BY {order} LIMIT {PAGE}"
    )
    positions = [2 + layout.columns.index(column) for column in (*layout.key, "id")]
    values: dict[str, Any] = {} if low is None else {"low": low, "high": high}
    rows = connection.execute(first, values).all()
    while rows:
        yield from rows
        last = rows[-1]
        marked = {f"k{n}": last[i] for n, i in enumerate(positions)}
        rows = connection.execute(after, {**values, **marked}).all()


def _chain_name(layout: ChainLayout, row: Sequence[Any]) -> str:
    return ":".join(str(row[2 + layout.columns.index(column)]) for column in layout.key)


def walk(
    connection: Connection, layout: ChainLayout, summary: TableSummary | None = None
) -> Iterator[Break | None]:
    """Every row of one table in chain order: None when it holds, a Break when not."""
    summary = summary if summary is not None else TableSummary(layout.table)
    current: str | None = None
    previous_hash: str | None = None
    previous_id: int | None = None
    id_at = 2 + layout.columns.index("id")
    for row in _pages(connection, layout):
        name = _chain_name(layout, row)
        summary.rows += 1
        if name != current:
            current, previous_hash, previous_id = name, None, None
            summary.chains += 1
        stored, prev, row_id = row[0], row[1], int(row[id_at])
        found: Break | None = None
        if stored is None:
            found = Break(layout.table, name, row_id, HASH_MISSING, "written past the triggers")
        elif chain.row_hash(layout, row[2:], prev) != stored:
            found = Break(
                layout.table, name, row_id, CONTENT_CHANGED, "its hash is not that of its content"
            )
        elif prev != previous_hash:
            before = "none" if previous_id is None else f"row {previous_id}"
            found = Break(
                layout.table,
                name,
                row_id,
                LINK_BROKEN,
                f"prev_hash is not the hash of the row before it ({before}):"
                " a row was deleted, inserted or moved",
            )
        yield found
        previous_hash, previous_id = stored, row_id


def _range(
    connection: Connection, layout: ChainLayout, low: int, high: int, start: str
) -> tuple[int, str]:
    """Rows in (low, high] and the digest of ``start`` and each chain's newest row there."""
    digest = hashlib.sha256(f"{layout.tag}|{start}".encode())
    count = 0
    current: str | None = None
    head: tuple[int, str | None] | None = None
    id_at = 2 + layout.columns.index("id")
    for row in _pages(connection, layout, low, high, tombstones=layout is chain.HISTORY):
        count += 1
        name = _chain_name(layout, row)
        if name != current:
            if current is not None and head is not None:
                digest.update(f"\n{current}|{head[0]}|{head[1]}".encode())
            current = name
        head = (int(row[id_at]), row[0])
    if current is not None and head is not None:
        digest.update(f"\n{current}|{head[0]}|{head[1]}".encode())
    return count, digest.hexdigest()


# Checkpoints -----------------------------------------------------------------------------


def _signed_text(checkpoint: AuditCheckpoint) -> str:
    values = (
        checkpoint.id,
        chain.instant_text(checkpoint.created_at),
        checkpoint.history_boundary,
        checkpoint.audit_boundary,
        checkpoint.history_mark,
        checkpoint.audit_mark,
        checkpoint.history_rows,
        checkpoint.audit_rows,
        checkpoint.history_heads,
        checkpoint.audit_heads,
        checkpoint.previous_signature,
        checkpoint.key_id,
    )
    encoded = ["~" if value is None else f"{len(str(value))}:{value}" for value in values]
    return "|".join((CHECKPOINT_TAG, *encoded))


def sign(checkpoint: AuditCheckpoint, key: str) -> str:
    """HMAC-SHA256 of the checkpoint's canonical text."""
    return hmac.new(key.encode(), _signed_text(checkpoint).encode(), hashlib.sha256).hexdigest()


def _max_id(connection: Connection, table: str) -> int:
    # nosemgrep: text-with-interpolation - one of core/chain.py's two table names
    found = connection.execute(text(f"SELECT max(id) FROM {table}")).scalar()  # noqa: S608  # nosec B608
    return int(found or 0)


def make_checkpoint(
    session: Session, settings: Settings, now: datetime, grace: timedelta | None = None
) -> AuditCheckpoint:
    """Sign the chain heads up to the newest boundary that no later commit can move."""
    if settings.audit_signing_key is None:
        msg = "AUDIT_SIGNING_KEY is not set: checkpoints are signed with it (README, settings)"
        raise CheckpointError(msg, code="AUDIT_KEY_MISSING")
    key = settings.audit_signing_key.get_secret_value()
    wait = (
        grace if grace is not None else timedelta(seconds=settings.audit_checkpoint_grace_seconds)
    )
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:c, :k)"),
            {"c": _LOCK_CLASS, "k": _CHECKPOINT_LOCK},
        )
    previous = session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).first()
    marks = (_max_id(connection, chain.HISTORY.table), _max_id(connection, chain.AUDIT.table))
    if wait <= timedelta(0):
        boundary = marks
    else:
        settled = session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.created_at <= now - wait)
            .order_by(AuditCheckpoint.id.desc())
            .limit(1)
        ).first()
        boundary = (settled.history_mark, settled.audit_mark) if settled else (0, 0)
    low = (previous.history_boundary, previous.audit_boundary) if previous else (0, 0)
    boundary = (max(boundary[0], low[0]), max(boundary[1], low[1]))
    starts = (previous.history_heads, previous.audit_heads) if previous else ("", "")
    history = _range(connection, chain.HISTORY, low[0], boundary[0], starts[0])
    audit = _range(connection, chain.AUDIT, low[1], boundary[1], starts[1])
    next_id = (previous.id + 1) if previous else 1
    checkpoint = AuditCheckpoint(
        id=next_id,
        created_at=now,
        history_boundary=boundary[0],
        audit_boundary=boundary[1],
        history_mark=marks[0],
        audit_mark=marks[1],
        history_rows=history[0],
        audit_rows=audit[0],
        history_heads=history[1],
        audit_heads=audit[1],
        previous_signature=previous.signature if previous else None,
        key_id=key_id(key),
        signature="",
    )
    checkpoint.signature = sign(checkpoint, key)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def checkpoint_due(session: Session, settings: Settings, now: datetime) -> bool:
    """Whether the periodic checkpoint is due (AUDIT_CHECKPOINT_INTERVAL_MINUTES, 0: never)."""
    minutes = settings.audit_checkpoint_interval_minutes
    if minutes <= 0 or settings.audit_signing_key is None:
        return False
    newest = session.scalar(select(AuditCheckpoint.created_at).order_by(AuditCheckpoint.id.desc()))
    return newest is None or newest <= now - timedelta(minutes=minutes)


def _checkpoint_breaks(
    connection: Connection, session: Session, settings: Settings
) -> Iterator[Break]:
    keys = signing_keys(settings)
    previous: AuditCheckpoint | None = None
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.id)
    for checkpoint in session.scalars(query.execution_options(yield_per=500)):
        where = ("audit_checkpoints", "checkpoints", checkpoint.id)
        key = keys.get(checkpoint.key_id)
        if key is None:
            yield Break(*where, UNKNOWN_KEY, f"key id {checkpoint.key_id} is not configured")
        elif not hmac.compare_digest(sign(checkpoint, key), checkpoint.signature):
            yield Break(*where, SIGNATURE, "the signature is not that of its content")
        expected = previous.signature if previous else None
        if checkpoint.previous_signature != expected or (
            previous is not None and checkpoint.id != previous.id + 1
        ):
            yield Break(
                *where, CHECKPOINT_LINK, "a checkpoint before it was deleted, changed or moved"
            )
        low = (previous.history_boundary, previous.audit_boundary) if previous else (0, 0)
        starts = (previous.history_heads, previous.audit_heads) if previous else ("", "")
        for layout, lo, high, start, rows, heads in (
            (
                chain.HISTORY,
                low[0],
                checkpoint.history_boundary,
                starts[0],
                checkpoint.history_rows,
                checkpoint.history_heads,
            ),
            (
                chain.AUDIT,
                low[1],
                checkpoint.audit_boundary,
                starts[1],
                checkpoint.audit_rows,
                checkpoint.audit_heads,
            ),
        ):
            found_rows, found_heads = _range(connection, layout, lo, high, start)
            if (found_rows, found_heads) != (rows, heads):
                yield Break(
                    layout.table,
                    f"ids {lo + 1}..{high}",
                    checkpoint.id,
                    CHECKPOINT_HEADS,
                    f"checkpoint {checkpoint.id} signed {rows} rows and their chain heads;"
                    f" {found_rows} rows there now"
                    + ("" if found_heads == heads else ", heads differ"),
                )
        previous = checkpoint


def hash_chain_breaks(session: Session, settings: Settings) -> Iterator[Break]:
    """Every broken link of both tables, then of the checkpoints (the data check's rows)."""
    connection = session.connection()
    for layout in chain.LAYOUTS:
        for found in walk(connection, layout):
            if found is not None:
                yield found
    yield from _checkpoint_breaks(connection, session, settings)


def verify(session: Session, settings: Settings) -> Report:
    """Walk every chain and checkpoint (``supplytrack audit verify``)."""
    report = Report()
    connection = session.connection()
    for layout in chain.LAYOUTS:
        summary = TableSummary(layout.table)
        for found in walk(connection, layout, summary):
            if found is not None:
                summary.breaks += 1
                if summary.first is None:
                    summary.first = found
        report.tables.append(summary)
    report.checkpoints = int(
        connection.execute(text("SELECT count(*) FROM audit_checkpoints")).scalar_one()
    )
    report.checkpoint_breaks = list(_checkpoint_breaks(connection, session, settings))
    return report


def as_dict(found: Break) -> dict[str, Any]:
    """A break as a plain dict (the data check's example rows)."""
    return asdict(found)
