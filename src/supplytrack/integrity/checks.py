"""Data checks: what must always hold in the database (consistency) and what should (quality).

Each check is one set-based query that returns the offending rows, read as a stream: the
count is exact, a few examples are kept, and memory stays flat however large the database.
A consistency failure means a bug or a change made behind the service's back (a restore of
the wrong file, a hand-written UPDATE); a quality finding is work for a person (a supplier
without a contact address, an overdue task nobody touched for weeks).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, TextClause, bindparam, text
from sqlalchemy.orm import Session

from supplytrack.audit.chain import as_dict, hash_chain_breaks
from supplytrack.core.models import UTCDateTime
from supplytrack.core.settings import Settings, get_settings

EXAMPLES = 10

CONSISTENCY = "consistency"
QUALITY = "quality"


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What the checks are measured against."""

    today: date
    now: datetime
    stale_days: int


@dataclass(frozen=True, slots=True)
class Check:
    """One rule: its name, kind, what it says, and the rows that break it."""

    name: str
    kind: str
    description: str
    rows: Callable[[Session, CheckContext], Iterator[dict[str, Any]]]


def run_check(session: Session, check: Check, context: CheckContext) -> dict[str, Any]:
    """Run ``check``: how many rows break it, the first few of them, and how long it took."""
    started = time.perf_counter()
    if session.get_bind().dialect.name == "postgresql":
        # The rows are read through a server-side cursor, which PostgreSQL plans for the first
        # tenth of them by default; a check reads them all (this transaction only).
        session.execute(text("SELECT set_config('cursor_tuple_fraction', '1', true)"))
    count = 0
    examples: list[dict[str, Any]] = []
    for row in check.rows(session, context):
        count += 1
        if len(examples) < EXAMPLES:
            examples.append(row)
    return {
        "name": check.name,
        "kind": check.kind,
        "description": check.description,
        "failures": count,
        "examples": examples,
        "durationMs": round((time.perf_counter() - started) * 1000, 1),
    }


def _stream(session: Session, statement: TextClause, **values: Any) -> Iterator[dict[str, Any]]:
    result = session.execute(statement.execution_options(yield_per=2000), values)
    for row in result.mappings():
        yield {key: _plain(value) for key, value in row.items()}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _query(sql: str) -> Callable[[Session, CheckContext], Iterator[dict[str, Any]]]:
    statement = text(sql)

    def rows(session: Session, _context: CheckContext) -> Iterator[dict[str, Any]]:
        return _stream(session, statement)

    return rows


# Consistency ----------------------------------------------------------------------------

_TEMPLATE_ORDER = _query(
    "SELECT d.id AS template_id, d.canonical_due AS due,"
    " p.id AS prerequisite_id, p.canonical_due AS prerequisite_due"
    " FROM task_template_dependencies dep"
    " JOIN task_templates d ON d.id = dep.template_id"
    " JOIN task_templates p ON p.id = dep.depends_on_id"
    " WHERE d.canonical_due < p.canonical_due ORDER BY d.id, p.id"
)

_INSTANCE_ORDER = _query(
    "SELECT d.id AS task_instance_id, d.actual_due AS due,"
    " p.id AS prerequisite_id, p.actual_due AS prerequisite_due"
    # From each dependency to its project's active assignments, then both instances by the
    # unique (assignment, template) key: SQLite otherwise pairs every dependency with every
    # assignment of every project.
    " FROM task_template_dependencies dep"
    " JOIN supplier_projects sp ON sp.project_id = dep.project_id AND sp.status = 'ACTIVE'"
    " JOIN task_instances d ON d.supplier_project_id = sp.id"
    "  AND d.task_template_id = dep.template_id"
    " JOIN task_instances p ON p.supplier_project_id = sp.id"
    "  AND p.task_template_id = dep.depends_on_id"
    " WHERE d.actual_due < p.actual_due ORDER BY d.id, p.id"
)


_STATUS_REPLAY = _query(
    "WITH last AS (SELECT task_instance_id, max(id) AS id FROM task_instance_history"
    "  WHERE field = 'STATUS' GROUP BY task_instance_id)"
    " SELECT i.id AS task_instance_id, i.status, h.new_value AS history_says"
    " FROM task_instances i"
    " LEFT JOIN last ON last.task_instance_id = i.id"
    " LEFT JOIN task_instance_history h ON h.id = last.id"
    " WHERE (h.id IS NULL AND i.status <> 'NOT_STARTED')"
    "  OR (h.id IS NOT NULL AND i.status <> h.new_value)"
    " ORDER BY i.id"
)

_DUE_REPLAY = _query(
    "WITH last AS (SELECT task_instance_id, max(id) AS id FROM task_instance_history"
    "  WHERE field = 'ACTUAL_DUE' GROUP BY task_instance_id)"
    " SELECT i.id AS task_instance_id, i.actual_due AS due, h.new_value AS history_says"
    " FROM task_instances i"
    " JOIN last ON last.task_instance_id = i.id"
    " JOIN task_instance_history h ON h.id = last.id"
    " WHERE CAST(i.actual_due AS VARCHAR(10)) <> h.new_value"
    " ORDER BY i.id"
)

_CONTINUITY = _query(
    "SELECT id AS history_id, task_instance_id, field, old_value, previous_new_value"
    " FROM (SELECT id, task_instance_id, field, old_value,"
    "  LAG(new_value) OVER (PARTITION BY task_instance_id, field ORDER BY id)"
    "   AS previous_new_value,"
    "  ROW_NUMBER() OVER (PARTITION BY task_instance_id, field ORDER BY id) AS n"
    "  FROM task_instance_history) h"
    " WHERE n > 1 AND old_value IS DISTINCT FROM previous_new_value"
    " ORDER BY id"
)

_REMOVED_UNTOUCHED = _query(
    "SELECT h.id AS history_id, h.task_instance_id, h.field, h.changed_at,"
    " sp.id AS assignment_id, sp.removed_at"
    " FROM supplier_projects sp"
    " JOIN task_instances i ON i.supplier_project_id = sp.id"
    " JOIN task_instance_history h ON h.task_instance_id = i.id"
    " WHERE sp.status = 'REMOVED' AND h.changed_at > sp.removed_at"
    " ORDER BY h.id"
)

_INSTANCE_LINKS = _query(
    "SELECT i.id AS task_instance_id, i.project_id, i.supplier_id,"
    " sp.id AS assignment_id, sp.project_id AS assignment_project_id,"
    " sp.supplier_id AS assignment_supplier_id, t.project_id AS template_project_id"
    " FROM task_instances i"
    " LEFT JOIN supplier_projects sp ON sp.id = i.supplier_project_id"
    " LEFT JOIN task_templates t ON t.id = i.task_template_id"
    " WHERE sp.id IS NULL OR t.id IS NULL OR sp.project_id <> i.project_id"
    "  OR sp.supplier_id <> i.supplier_id OR t.project_id <> i.project_id"
    " ORDER BY i.id"
)

_DERIVED = _query(
    "SELECT 'task_instance' AS row_kind, id, status AS state"
    " FROM task_instances"
    " WHERE (status IN ('APPROVED', 'WAIVED')) <> (completed_at IS NOT NULL)"
    " UNION ALL"
    " SELECT 'assignment', id, status FROM supplier_projects"
    " WHERE (status = 'REMOVED') <> (removed_at IS NOT NULL)"
    " UNION ALL"
    " SELECT 'dependency', dep.template_id, CAST(dep.depends_on_id AS VARCHAR(20))"
    " FROM task_template_dependencies dep"
    " JOIN task_templates d ON d.id = dep.template_id"
    " JOIN task_templates p ON p.id = dep.depends_on_id"
    " WHERE d.project_id <> dep.project_id OR p.project_id <> dep.project_id"
    " ORDER BY 1, 2"
)


def _foreign_keys(session: Session, _context: CheckContext) -> Iterator[dict[str, Any]]:
    """SQLite: every foreign key, as PRAGMA foreign_key_check sees it (PostgreSQL enforces them)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for row in session.execute(text("PRAGMA foreign_key_check")):
        yield {"table": row[0], "rowid": row[1], "parent": row[2]}


def _hash_chains(session: Session, _context: CheckContext) -> Iterator[dict[str, Any]]:
    """Every broken link of the audit tables' hash chains and checkpoints (audit/chain.py)."""
    database = session.info.get("database")
    settings: Settings = database.settings if database is not None else get_settings()
    for found in hash_chain_breaks(session, settings):
        yield as_dict(found)


# Quality ---------------------------------------------------------------------------------


def _stale_overdue(session: Session, context: CheckContext) -> Iterator[dict[str, Any]]:
    statement = text(
        "SELECT i.id AS task_instance_id, i.supplier_id, i.status, i.actual_due AS due"
        " FROM task_instances i"
        " JOIN supplier_projects sp ON sp.id = i.supplier_project_id AND sp.status = 'ACTIVE'"
        " JOIN projects p ON p.id = i.project_id AND p.status = 'ACTIVE'"
        " WHERE i.status IN ('NOT_STARTED', 'IN_PROGRESS', 'REJECTED', 'BLOCKED')"
        " AND i.actual_due < :today"
        " AND NOT EXISTS (SELECT 1 FROM task_instance_history h"
        "  WHERE h.task_instance_id = i.id AND h.changed_at >= :since)"
        " ORDER BY i.actual_due, i.id"
    ).bindparams(bindparam("today", type_=Date()), bindparam("since", type_=UTCDateTime()))
    since = context.now - timedelta(days=context.stale_days)
    return _stream(session, statement, today=context.today, since=since)


_NO_CONTACT = _query(
    "SELECT id AS supplier_id, code FROM suppliers"
    " WHERE status = 'ACTIVE' AND (contact_email IS NULL OR trim(contact_email) = '')"
    " ORDER BY id"
)

_EMPTY_MILESTONES = _query(
    "SELECT t.id AS template_id, t.project_id, t.name FROM task_templates t"
    " JOIN projects p ON p.id = t.project_id AND p.status = 'ACTIVE'"
    " WHERE EXISTS (SELECT 1 FROM supplier_projects sp"
    "  WHERE sp.project_id = t.project_id AND sp.status = 'ACTIVE')"
    " AND NOT EXISTS (SELECT 1 FROM task_instances i WHERE i.task_template_id = t.id)"
    " ORDER BY t.id"
)


def _past_sop(session: Session, context: CheckContext) -> Iterator[dict[str, Any]]:
    statement = text(
        "SELECT id AS project_id, code, sop_date FROM projects"
        " WHERE status = 'ACTIVE' AND sop_date < :today ORDER BY id"
    ).bindparams(bindparam("today", type_=Date()))
    return _stream(session, statement, today=context.today)


CHECKS: tuple[Check, ...] = (
    Check(
        "template_dependency_order",
        CONSISTENCY,
        "A template is never due before a template it depends on.",
        _TEMPLATE_ORDER,
    ),
    Check(
        "instance_dependency_order",
        CONSISTENCY,
        "Per active supplier-project, an instance is never due before an instance it depends on.",
        _INSTANCE_ORDER,
    ),
    Check(
        "status_matches_history",
        CONSISTENCY,
        "Every instance's status is the newest status in its history (NOT_STARTED without one).",
        _STATUS_REPLAY,
    ),
    Check(
        "due_date_matches_history",
        CONSISTENCY,
        "Every instance's due date is the newest due date in its history, when it has one.",
        _DUE_REPLAY,
    ),
    Check(
        "history_is_continuous",
        CONSISTENCY,
        "Each history row's old value is the new value of the row before it (instance, field).",
        _CONTINUITY,
    ),
    Check(
        "removed_assignments_unchanged",
        CONSISTENCY,
        "Nothing of a REMOVED assignment changed after its removal.",
        _REMOVED_UNTOUCHED,
    ),
    Check(
        "instance_links",
        CONSISTENCY,
        "Every instance's project and supplier are those of its assignment and its template.",
        _INSTANCE_LINKS,
    ),
    Check(
        "derived_fields",
        CONSISTENCY,
        "completedAt iff APPROVED or WAIVED; removedAt iff REMOVED; dependencies within a project.",
        _DERIVED,
    ),
    Check(
        "foreign_keys",
        CONSISTENCY,
        "Every reference points at an existing row (SQLite's foreign_key_check).",
        _foreign_keys,
    ),
    Check(
        "hash_chains",
        CONSISTENCY,
        "Every history and audit-log row hashes to its content and links to the row before it"
        " in its chain; every checkpoint's signature and chain heads hold (`audit verify`).",
        _hash_chains,
    ),
    Check(
        "overdue_without_activity",
        QUALITY,
        "Overdue open instances of active work with no change for DATA_QUALITY_STALE_DAYS.",
        _stale_overdue,
    ),
    Check(
        "suppliers_without_contact_email",
        QUALITY,
        "Active suppliers nobody can write to.",
        _NO_CONTACT,
    ),
    Check(
        "milestones_without_instances",
        QUALITY,
        "Milestones of active projects with suppliers that no supplier has to deliver.",
        _EMPTY_MILESTONES,
    ),
    Check(
        "projects_past_sop_still_active",
        QUALITY,
        "Projects whose start of production has passed and that are still ACTIVE.",
        _past_sop,
    ),
)

BY_NAME = {check.name: check for check in CHECKS}
