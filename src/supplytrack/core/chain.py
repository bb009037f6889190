"""The hash chains of the audit tables: which rows form a chain and what a row's hash covers.

task_instance_history chains per task instance, audit_log per (entity, entity_id); a row's
link is the row of the same chain with the next smaller id. Each row stores ``prev_hash`` (the
``row_hash`` of that row, NULL for a chain's first row) and ``row_hash``:

    row_hash = sha256_hex(utf8(canonical text))
    canonical text = tag "|" enc(column 1) "|" ... "|" enc(column n) "|" enc(prev_hash)
    enc(NULL) = "~"; enc(value) = <number of characters> ":" <value as text>

The tag names the table and the layout's version (``history/1``, ``audit/1``); the columns are
every column but the two hash columns, in the order of ``HISTORY.columns`` and
``AUDIT.columns``. Integers are written in decimal, ``changed_at`` as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. The length prefix keeps "a|b" in one column apart from
"a" and "b" in two, and "~" (NULL) apart from the text "~" (``1:~``).

The database computes the hashes itself, in the inserting statement (PostgreSQL: a BEFORE
INSERT trigger in plpgsql, migrations/versions/20261202_audit_chain.py; SQLite: an AFTER
INSERT trigger that calls :func:`sqlite_chain_hash`, registered on every connection by
core/db.py). This module is the Python side of the same formula, for the backfill and for
``supplytrack audit verify`` (audit/chain.py); the tests hold the two to each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NULL = "~"
SQLITE_FUNCTION = "st_chain_hash"


@dataclass(frozen=True, slots=True)
class ChainLayout:
    """One chained table: its tag, chain key columns and the columns its hash covers."""

    table: str
    tag: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    instant: str = "changed_at"


HISTORY = ChainLayout(
    table="task_instance_history",
    tag="history/1",
    key=("task_instance_id",),
    columns=(
        "id",
        "task_instance_id",
        "field",
        "old_value",
        "new_value",
        "changed_at",
        "actor_id",
        "actor",
        "reason",
        "reason_code",
        "source",
        "bulk_operation_id",
        "request_id",
        "change_id",
    ),
)
AUDIT = ChainLayout(
    table="audit_log",
    tag="audit/1",
    key=("entity", "entity_id"),
    columns=(
        "id",
        "entity",
        "entity_id",
        "field",
        "old_value",
        "new_value",
        "changed_at",
        "actor_id",
        "actor",
        "reason",
        "reason_code",
        "source",
        "change_id",
        "request_id",
    ),
)
LAYOUTS = (HISTORY, AUDIT)
BY_TAG = {layout.tag: layout for layout in LAYOUTS}


def instant_text(value: datetime | str) -> str:
    """``changed_at`` as the canonical text: UTC, microseconds, a trailing Z.

    SQLite stores the naive UTC text SQLAlchemy writes (``2026-12-02 10:00:00.000000``; a
    hand-written row may differ in spelling, not in the instant); PostgreSQL a naive UTC
    timestamp. An aware value is converted to UTC first.
    """
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}Z"
    )


def _enc(value: object) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):  # never stored; an int subclass, so kept apart explicitly
        value = int(value)
    if isinstance(value, datetime):
        value = instant_text(value)
    elif hasattr(value, "value") and isinstance(value.value, str):  # a StrEnum member
        value = value.value
    text = str(value)
    return f"{len(text)}:{text}"


def canonical_text(layout: ChainLayout, values: Sequence[Any], prev_hash: str | None) -> str:
    """The text a row's hash is taken of (``values`` in the order of ``layout.columns``)."""
    if len(values) != len(layout.columns):
        msg = f"{layout.table}: {len(values)} values for {len(layout.columns)} columns"
        raise ValueError(msg)
    instant = layout.columns.index(layout.instant)
    parts = [layout.tag]
    for index, value in enumerate(values):
        if index == instant and value is not None:
            parts.append(_enc(instant_text(value)))
        else:
            parts.append(_enc(value))
    parts.append(_enc(prev_hash))
    return "|".join(parts)


def row_hash(layout: ChainLayout, values: Sequence[Any], prev_hash: str | None) -> str:
    """sha256 hex of the row's canonical text."""
    return hashlib.sha256(canonical_text(layout, values, prev_hash).encode("utf-8")).hexdigest()


def sqlite_chain_hash(tag: str, prev_hash: str | None, *values: Any) -> str:
    """What SQLite's triggers call as st_chain_hash(tag, prev_hash, column 1, ..., column n)."""
    return row_hash(BY_TAG[tag], values, prev_hash)


# Retention (flows/retention.py) is the one writer that deletes history: inside disposing(),
# SQLite's DELETE guard asks st_disposing() and lets it through; PostgreSQL's guard reads the
# transaction's supplytrack.disposal setting instead (migration 0013).
DISPOSING_FUNCTION = "st_disposing"
DISPOSAL_SETTING = "supplytrack.disposal"
_disposing: ContextVar[bool] = ContextVar("supplytrack_disposing", default=False)


@contextmanager
def disposing() -> Iterator[None]:
    """Let this thread's statements delete history rows (SQLite; see DISPOSING_FUNCTION)."""
    token = _disposing.set(True)
    try:
        yield
    finally:
        _disposing.reset(token)


def _disposing_now() -> int:
    return int(_disposing.get())


def register_sqlite(create_function: Callable[..., None]) -> None:
    """Give an SQLite connection the functions its audit triggers call (``create_function``)."""
    create_function(SQLITE_FUNCTION, -1, sqlite_chain_hash, deterministic=True)
    create_function(DISPOSING_FUNCTION, 0, _disposing_now)
