"""Loading the demo data: the checks, the small tables, the set-based chunks, the summary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.progress import Progress, TaskID
from sqlalchemy import Connection, Table, exists, func, insert, select

from supplytrack.core import migrate
from supplytrack.core.db import Database
from supplytrack.demo.bulk import (
    PLAN_TABLES,
    BulkStatements,
    create_plan_tables,
    drop_plan_tables,
)
from supplytrack.demo.dataset import DemoPlan, build_plan
from supplytrack.demo.dialect import Dialect
from supplytrack.demo.plan import SCALES, Clock, Scale
from supplytrack.models import Base
from supplytrack.tasks.enums import OVERDUE_STATUSES

# The tables the demo data fills, parents first; any row in one of them means "not empty".
DEMO_TABLES = (
    "projects",
    "suppliers",
    "supplier_capabilities",
    "supplier_projects",
    "task_templates",
    "task_template_dependencies",
    "task_instances",
    "task_instance_history",
)
# Filled set-based by INSERT ... SELECT; the others are planned in Python.
BULK_TABLES = ("task_instances", "task_instance_history")
REFERENCE_TABLES = tuple(name for name in DEMO_TABLES if name not in BULK_TABLES)
_NOT_EMPTY = "the database already holds projects, suppliers or tasks"


class DatabaseNotEmpty(Exception):
    """The database already holds data; demo data goes only into an empty one."""


class SchemaNotReady(Exception):
    """The database is not migrated to the newest revision."""


@dataclass
class LoadReport:
    """What a load wrote and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    moved: int = 0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """The whole load, in seconds."""
        return sum(self.phases.values())

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one phase of the load."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started


def check_schema(database: Database) -> None:
    """Raise SchemaNotReady unless the database is at the newest migration."""
    with database.engine.connect() as connection:
        current = migrate.current_revision(connection)
    head = migrate.head_revision()
    if current != head:
        msg = (
            f"the database is at revision {current or 'none'}, not {head}: "
            "run `supplytrack db upgrade` first"
        )
        raise SchemaNotReady(msg)


def is_empty(connection: Connection) -> bool:
    """Whether none of the demo tables holds a row."""
    return not any(
        connection.scalar(select(exists().select_from(_table(name)))) for name in DEMO_TABLES
    )


def check_empty(database: Database) -> None:
    """Raise DatabaseNotEmpty when any demo table holds a row (the load checks again)."""
    with database.engine.connect() as connection:
        if not is_empty(connection):
            raise DatabaseNotEmpty(_NOT_EMPTY)


def load_demo_data(
    database: Database,
    scale: str | Scale,
    seed: int,
    today: date,
    progress: Progress | None = None,
) -> LoadReport:
    """Fill an empty database with the demo data set of ``scale``, in one transaction.

    The same scale, seed, today and APP_TIMEZONE give the same rows, ids included. Raises
    DatabaseNotEmpty (and writes nothing) when any demo table already holds a row.
    """
    report = LoadReport()
    with report.phase("plan"):
        scale = SCALES[scale] if isinstance(scale, str) else scale
        plan = build_plan(scale, seed, Clock.for_day(today, database.settings.app_timezone))
    bars = _Bars(progress, plan)
    with database.session_scope(write=True) as session:
        connection = session.connection()
        if not is_empty(connection):
            raise DatabaseNotEmpty(_NOT_EMPTY)
        dialect = Dialect(connection.dialect.name)
        dialect.prepare(connection)
        try:
            with report.phase("reference tables"):
                write_reference_tables(connection, plan, bars)
                create_plan_tables(connection, plan)
                dialect.analyze(connection, [*REFERENCE_TABLES, *PLAN_TABLES])
            _write_bulk_tables(connection, plan, dialect, report, bars)
            with report.phase("statistics"):
                dialect.finish(connection)
            bars.advance("finish")
        finally:
            dialect.restore(connection)
        with report.phase("summary"):
            _summarise(connection, today, report)
    return report


def write_reference_tables(
    connection: Connection, plan: DemoPlan, bars: _Bars | None = None
) -> None:
    """Projects, suppliers, capabilities, templates, dependencies and assignments."""
    for name, rows in _reference_rows(plan):
        if rows:
            connection.execute(insert(_table(name)), rows)
        if bars is not None:
            bars.advance("reference")


def _reference_rows(plan: DemoPlan) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield "projects", [project.row() for project in plan.projects]
    yield "suppliers", [supplier.row() for supplier in plan.suppliers]
    yield (
        "supplier_capabilities",
        [
            {"supplier_id": supplier.id, "capability": capability}
            for supplier in plan.suppliers
            for capability in supplier.capabilities
        ],
    )
    yield "task_templates", [template.row() for template in plan.templates]
    yield (
        "task_template_dependencies",
        [
            {"template_id": t.id, "depends_on_id": prerequisite, "project_id": t.project_id}
            for t in plan.templates
            for prerequisite in t.depends_on
        ],
    )
    yield "supplier_projects", [assignment.row() for assignment in plan.assignments]


def _write_bulk_tables(
    connection: Connection, plan: DemoPlan, dialect: Dialect, report: LoadReport, bars: _Bars
) -> None:
    """Instances and their history, chunk by chunk, each by INSERT ... SELECT."""
    statements = BulkStatements(dialect)
    with report.phase("keys and indexes"):
        suspended = dialect.suspend_checks(connection, BULK_TABLES)
    history_id = 1
    for chunk in plan.chunks():
        with report.phase("task instances"):
            staged = statements.stage(connection, chunk, history_id)
            if staged != chunk.instances:  # the SQL and the plan disagree on the fan-out rule
                msg = f"expected {chunk.instances} instances in {chunk}, computed {staged}"
                raise RuntimeError(msg)
            statements.insert_instances(connection)
        bars.advance("instances", staged)
        with report.phase("history"):
            history_id += statements.insert_history(connection)
        bars.advance("history", staged)
    drop_plan_tables(connection)
    with report.phase("keys and indexes"):
        dialect.resume_checks(connection, suspended)
    bars.advance("finish")


class _Bars:
    """The progress bars of the load's phases (none without a progress display)."""

    def __init__(self, progress: Progress | None, plan: DemoPlan) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        if progress is None:
            return
        for name, description, total in (
            ("reference", "projects, suppliers, plans", 6),
            ("instances", "task instances", plan.instances),
            ("history", "history (of instances)", plan.instances),
            ("finish", "keys, indexes, statistics", 2),
        ):
            self.tasks[name] = progress.add_task(description, total=total)

    def advance(self, name: str, amount: int = 1) -> None:
        if self.progress is not None:
            self.progress.advance(self.tasks[name], amount)


def _summarise(connection: Connection, today: date, report: LoadReport) -> None:
    for name in DEMO_TABLES:
        report.rows[name] = connection.scalar(select(func.count()).select_from(_table(name))) or 0
    instances, templates = _table("task_instances"), _table("task_templates")
    status = instances.c.status
    report.statuses = {
        str(value): count
        for value, count in connection.execute(
            select(status, func.count()).group_by(status).order_by(status)
        )
    }
    report.overdue = (
        connection.scalar(
            select(func.count()).where(
                status.in_([value.value for value in OVERDUE_STATUSES]),
                instances.c.actual_due < today,
            )
        )
        or 0
    )
    moved = select(func.count()).select_from(
        instances.join(templates, templates.c.id == instances.c.task_template_id)
    )
    report.moved = (
        connection.scalar(moved.where(instances.c.actual_due != templates.c.canonical_due)) or 0
    )


def _table(name: str) -> Table:
    return Base.metadata.tables[name]
