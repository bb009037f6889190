"""The two hottest queries (a page of instances, one instance), defined once, compiled once.

Each query is a Core statement whose every value is a named bind parameter, so its SQL text
depends only on its *shape* (which filters are given, the sort, a cursor, the supplier scope)
and never on the values. The repository runs it through SQLAlchemy like any other query;
``CompiledReads`` compiles each shape once per dialect and runs the text on a bare driver
cursor, which is what the hot routes use (SQLAlchemy's per-execution work cost about twice
the SQL itself there). Both paths send the same SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Select, bindparam, case, not_, select
from sqlalchemy import tuple_ as sql_tuple

from supplytrack.core.pagination import Sort
from supplytrack.tasks.derived import at_risk_condition, overdue_condition
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance

T = TaskInstance
# The id filters of a list, in the order they are written into the statement.
ID_FILTERS = ("project_id", "supplier_id", "supplier_project_id", "task_template_id")
SORT_COLUMNS = {
    "id": T.id,
    "actualDue": T.actual_due,
    "status": T.status,
    "createdAt": T.created_at,
    "updatedAt": T.updated_at,
}


def read_columns() -> tuple[Any, ...]:
    """Every read of instances selects these (``today`` is a bind parameter)."""
    return (
        T.id,
        T.supplier_project_id,
        T.project_id,
        T.supplier_id,
        T.task_template_id,
        T.status,
        T.actual_due,
        case(
            (overdue_condition(bindparam("q_today", type_=T.actual_due.type)), True), else_=False
        ).label("overdue"),
        case((at_risk_condition(), True), else_=False).label("at_risk"),
        T.submitted_at,
        T.completed_at,
        T.notes,
        T.created_at,
        T.updated_at,
        T.version,
    )


READ_COLUMN_NAMES = tuple(column.key for column in read_columns())


@dataclass(frozen=True, slots=True)
class ListShape:
    """What decides a list query's SQL text (never its values)."""

    filters: tuple[str, ...]  # of ID_FILTERS, the ones given
    statuses: int  # how many statuses are asked for (0: any)
    overdue: bool | None
    due_before: bool
    due_after: bool
    sort: str
    descending: bool
    after: bool  # a cursor is given
    scoped: bool  # a supplier's list: its own instances only
    sqlite: bool  # SQLite needs a planner hint for overdue lists


def _scope(stmt: Select[Any], scoped: bool) -> Select[Any]:
    return stmt.where(T.supplier_id == bindparam("q_scope_supplier_id")) if scoped else stmt


@lru_cache(maxsize=512)
def list_statement(shape: ListShape) -> Select[Any]:
    """The list page of ``shape``, with bind parameters for every value."""
    stmt = _scope(select(*read_columns()), shape.scoped)
    for name in shape.filters:
        stmt = stmt.where(getattr(T, name) == bindparam(f"q_{name}"))
    if shape.statuses:
        stmt = stmt.where(T.status.in_([bindparam(f"q_status_{n}") for n in range(shape.statuses)]))
    today = bindparam("q_today", type_=T.actual_due.type)
    if shape.overdue and shape.sqlite:
        # The SQLite planner guesses how many rows the due-date range keeps. Unfiltered, it
        # would walk the whole table in id order hoping to fill the page soon; overdue rows
        # are few: say so (0.01), and it looks them up by due date instead. With a project,
        # supplier or milestone their own index finds the rows: say that the range keeps most
        # of them (0.9), or it walks every overdue row of every project by due date (large,
        # projectId=&overdue=true&sort=actualDue: 251 -> 9 ms). The same rows either way.
        stmt = stmt.where(overdue_condition(today, due_odds="0.9" if shape.filters else "0.01"))
    elif shape.overdue is not None:
        overdue = overdue_condition(today)
        stmt = stmt.where(overdue if shape.overdue else not_(overdue))
    if shape.due_before:
        stmt = stmt.where(T.actual_due < bindparam("q_due_before", type_=T.actual_due.type))
    if shape.due_after:
        stmt = stmt.where(T.actual_due > bindparam("q_due_after", type_=T.actual_due.type))
    column = SORT_COLUMNS[shape.sort]
    by_id = column is T.id
    if shape.after:
        key = bindparam("q_after_key", type_=column.type)
        after_id = bindparam("q_after_id", type_=T.id.type)
        if by_id:
            stmt = stmt.where(T.id < after_id if shape.descending else T.id > after_id)
        else:
            left, right = sql_tuple(column, T.id), sql_tuple(key, after_id)
            stmt = stmt.where(left < right if shape.descending else left > right)
    order: list[Any]
    if by_id:
        order = [T.id.desc() if shape.descending else T.id.asc()]
    elif shape.descending:
        order = [column.desc(), T.id.desc()]
    else:
        order = [column.asc(), T.id.asc()]
    return stmt.order_by(*order).limit(bindparam("q_limit", type_=T.id.type))


@lru_cache(maxsize=2)
def one_statement(scoped: bool) -> Select[Any]:
    """One instance by id (``q_instance_id``), with bind parameters for every value.

    Parameter names start with ``q_``: SQLAlchemy names its own anonymous ones after columns.
    """
    stmt = select(*read_columns()).where(T.id == bindparam("q_instance_id"))
    return _scope(stmt, scoped)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A list request: its shape and the values of its parameters."""

    shape: ListShape
    params: dict[str, Any]


def list_query(
    where: Any,
    today: date,
    sort: Sort,
    after: tuple[Any, int] | None,
    limit: int,
    *,
    supplier_id: int | None,
    sqlite: bool,
) -> ListQuery:
    """The shape and parameters of a list page (``where`` is a TaskFilter; limit + 1 rows)."""
    filters = tuple(name for name in ID_FILTERS if getattr(where, name) is not None)
    params: dict[str, Any] = {f"q_{name}": getattr(where, name) for name in filters}
    params["q_today"] = today
    params["q_limit"] = limit + 1
    for n, status in enumerate(where.statuses):
        params[f"q_status_{n}"] = status
    if where.due_before is not None:
        params["q_due_before"] = where.due_before
    if where.due_after is not None:
        params["q_due_after"] = where.due_after
    if after is not None:
        params["q_after_key"], params["q_after_id"] = after
    if supplier_id is not None:
        params["q_scope_supplier_id"] = supplier_id
    shape = ListShape(
        filters=filters,
        statuses=len(where.statuses),
        overdue=where.overdue,
        due_before=where.due_before is not None,
        due_after=where.due_after is not None,
        sort=sort.name,
        descending=sort.descending,
        after=after is not None,
        scoped=supplier_id is not None,
        sqlite=sqlite,
    )
    return ListQuery(shape, params)


# --- the bare-driver path ------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    """A parameter as SQLAlchemy's SQLite types store it (dates and instants are text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, TaskStatus):
        return value.value
    return value


def _postgres_value(value: Any) -> Any:
    """A parameter as the PostgreSQL columns take it (instants are naive UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, TaskStatus):
        return value.value
    return value


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # positional order (SQLite); empty for named parameters
    # The statement's own values (the status lists of overdue and at risk), already
    # converted for the driver; the request's values are added to these.
    fixed: dict[str, Any]


class CompiledReads:
    """The read statements compiled once per shape, run on a bare DBAPI cursor."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect
        self.sqlite = engine.dialect.name == "sqlite"
        self._value = _sqlite_value if self.sqlite else _postgres_value
        self._compiled: dict[Any, _Compiled] = {}

    def _compile(self, key: Any, stmt: Select[Any]) -> _Compiled:
        found = self._compiled.get(key)
        if found is None:
            compiled = stmt.compile(dialect=self.dialect)
            # The statement's constant IN lists are "expanding" parameters that SQLAlchemy
            # renders at execution time; render them now, once (our own q_ parameters stay
            # placeholders). SQLAlchemy's own step for it; the version is pinned, and
            # tests/api/test_fast.py compares every answer with the ORM path's.
            placeholders = {name: None for name in compiled.bind_names.values() if name[:2] == "q_"}
            expanded = compiled._process_parameters_for_postcompile(
                compiled.construct_params(placeholders), _populate_self=False
            )
            names = tuple(expanded.positiontup or ()) if self.sqlite else ()
            fixed = {
                name: self._value(value)
                for name, value in expanded.parameters.items()
                if not name.startswith("q_")
            }
            found = _Compiled(expanded.statement, names, fixed)
            self._compiled[key] = found
        return found

    def _run(self, cursor: Any, compiled: _Compiled, params: dict[str, Any]) -> None:
        value = self._value
        given = {name: value(v) for name, v in params.items()}
        if self.sqlite:
            fixed = compiled.fixed
            cursor.execute(
                compiled.sql, tuple(given[n] if n in given else fixed[n] for n in compiled.names)
            )
        else:
            cursor.execute(compiled.sql, {**compiled.fixed, **given})

    def page(self, cursor: Any, query: ListQuery) -> Sequence[tuple[Any, ...]]:
        """Raw rows (read_columns order) of a list page: one more than its limit."""
        compiled = self._compile(query.shape, list_statement(query.shape))
        self._run(cursor, compiled, query.params)
        rows: Sequence[tuple[Any, ...]] = cursor.fetchall()
        return rows

    def one(
        self, cursor: Any, instance_id: int, today: date, supplier_id: int | None
    ) -> tuple[Any, ...] | None:
        """The raw row of one instance, or None (missing, or not the supplier's)."""
        scoped = supplier_id is not None
        compiled = self._compile(("one", scoped), one_statement(scoped))
        params: dict[str, Any] = {"q_instance_id": instance_id, "q_today": today}
        if scoped:
            params["q_scope_supplier_id"] = supplier_id
        self._run(cursor, compiled, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row
