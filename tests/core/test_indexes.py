"""Hot queries use an index: the SQL the API really sends, captured and EXPLAINed on both engines.

The data set is built through the services (fan-out included) with the shape of the reference
data: many projects and suppliers, few rows per filter value, a handful submitted or overdue.
Statistics are gathered (ANALYZE) so that PostgreSQL plans as it would in production; on
PostgreSQL, whose planner rightly reads a table of a few pages in one sweep, the tiny tables are
EXPLAINed with ``enable_seqscan = off``: the question there is whether an index can serve the
query at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, inspect, text
from sqlalchemy.orm import Session

from supplytrack.auth.service import TokenService
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.time import today
from tests.core.helpers import app_client, recording
from tests.fixtures.database import DatabaseFactory, settings_for
from tests.fixtures.factories import Factory

PROJECTS = 8
TEMPLATES = 12
SUPPLIERS = 160  # each on two projects: 320 assignments, 3,840 task instances
FULL_SCAN = "full scan"

# --- the one place that reads plans -------------------------------------------------------------

_SQLITE_STEP = re.compile(
    r"^(?P<op>SCAN|SEARCH) (?P<table>\w+)(?: AS \w+)?"
    r"(?: USING (?:(?:COVERING )?INDEX (?P<index>\w+)|(?P<pk>INTEGER PRIMARY KEY)))?"
)


def access_paths(connection: Connection, statement: str, params: Any, table: str) -> set[str]:
    """How the plan of ``statement`` reads ``table``: index names, or FULL_SCAN.

    An index only counts when it is searched with a condition: SQLite's ``SCAN t USING INDEX``
    and PostgreSQL's index scan without an ``Index Cond`` read the whole index, which is a
    full scan by another name.
    """
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
        return _sqlite_paths([str(row[-1]) for row in rows], table)
    raw = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar_one()
    plan = json.loads(raw) if isinstance(raw, str) else raw
    return _postgres_paths(plan[0]["Plan"], table)


def _sqlite_paths(details: list[str], table: str) -> set[str]:
    found: set[str] = set()
    for detail in details:
        step = _SQLITE_STEP.match(detail)
        if step is None or step["table"] != table:
            continue
        if step["op"] == "SCAN":
            found.add(FULL_SCAN)
        elif step["pk"]:
            found.add(f"pk_{table}")
        elif step["index"]:
            found.add(step["index"])
    return found


def _postgres_paths(node: dict[str, Any], table: str) -> set[str]:
    found: set[str] = set()
    if node.get("Relation Name") == table:
        kind = node["Node Type"]
        if kind == "Seq Scan":
            found.add(FULL_SCAN)
        elif kind in {"Index Scan", "Index Only Scan"}:
            found.add(node["Index Name"] if "Index Cond" in node else FULL_SCAN)
        elif kind == "Bitmap Heap Scan":
            found |= _bitmap_indexes(node)
    for child in node.get("Plans", []):
        found |= _postgres_paths(child, table)
    return found


def _bitmap_indexes(node: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for child in node.get("Plans", []):
        if child["Node Type"] == "Bitmap Index Scan":
            found.add(child["Index Name"] if "Index Cond" in child else FULL_SCAN)
        found |= _bitmap_indexes(child)
    return found


def leading_column(connection: Connection, table: str, index: str) -> str:
    """The first column of ``index`` (the primary key counts as an index on ``id``)."""
    if index == f"pk_{table}":
        return "id"
    for reflected in inspect(connection).get_indexes(table):
        if reflected["name"] == index:
            return str(reflected["column_names"][0])
    for unique in inspect(connection).get_unique_constraints(table):
        if unique["name"] == index:
            return str(unique["column_names"][0])
    if inspect(connection).get_pk_constraint(table).get("name") == index:
        return "id"
    pytest.fail(f"{index} is not an index of {table}")


def test_plan_reader_sees_a_full_scan_and_an_index(indexed: Indexed) -> None:
    """The helper itself: a filter on an unindexed column is a full scan, on id a search."""
    with indexed.database.engine.connect() as connection:
        _tune(connection)
        scan = access_paths(
            connection, "SELECT id FROM task_instances WHERE notes = 'x'", {}, "task_instances"
        )
        by_id = access_paths(
            connection, "SELECT notes FROM task_instances WHERE id = 7", {}, "task_instances"
        )
        assert scan == {FULL_SCAN}
        assert by_id == {"pk_task_instances"}


# --- the data set ------------------------------------------------------------------------------


@dataclass
class Indexed:
    """The analysed database, an app on it and the ids the hot queries need."""

    database: Database
    client: TestClient
    manager: dict[str, str]
    supplier: dict[str, str]
    project_id: int
    instance_id: int


def _build(database: Database) -> tuple[int, int, str, str]:
    with database.session_scope() as session:
        factory = Factory(session)
        suppliers = [factory.supplier(capabilities=("machining",)) for _ in range(SUPPLIERS)]
        projects = [factory.project() for _ in range(PROJECTS)]
        # Programs launch one after another: each fans out to its suppliers in turn.
        for p, project in enumerate(projects):
            for n in range(TEMPLATES):
                factory.template(project, canonical_due=today() + timedelta(days=30 + n))
            for n, assigned in enumerate(suppliers):
                if n % PROJECTS in {p, (p + 1) % PROJECTS}:
                    factory.assign(project, assigned)
        _, manager = TokenService(session).create("idx-manager", Role.MANAGER, None)
        _, supplier = TokenService(session).create("idx-supplier", Role.SUPPLIER, suppliers[7].id)
        project_id = projects[-1].id  # the newest: its rows are the last in id order
    with database.session_scope() as session:
        _shape(session)
        instance_id = int(
            session.execute(
                text("SELECT MAX(id) FROM task_instances WHERE status = 'APPROVED'")
            ).scalar_one()
        )
    with database.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return project_id, instance_id, manager, supplier


def _shape(session: Session) -> None:
    """A few submitted (2%), approved (2%) and overdue (2%); history for every instance."""
    now = "2026-01-01 00:00:00"
    for statement in (
        "UPDATE task_instances SET status = 'SUBMITTED', submitted_at = :now WHERE id % 50 = 1",
        "UPDATE task_instances SET status = 'APPROVED', submitted_at = :now, completed_at = :now "
        "WHERE id % 50 = 2",
        "UPDATE task_instances SET actual_due = :past WHERE id % 50 = 3",
    ):
        session.execute(text(statement), {"now": now, "past": today() - timedelta(days=10)})
    for field in ("NOTES", "ACTUAL_DUE", "STATUS"):
        session.execute(
            text(
                "INSERT INTO task_instance_history (task_instance_id, field, old_value, "
                "new_value, changed_at, actor, source) SELECT id, :field, NULL, 'x', :now, "
                "'system:idx', 'SYSTEM' FROM task_instances"
            ),
            {"now": now, "field": field},
        )


@pytest.fixture(scope="module")
def indexed(database_factory: DatabaseFactory) -> Iterator[Indexed]:
    """The data set, built once for this module."""
    # The plans of what requests send: nothing may be answered from the cache.
    database = Database(
        settings_for(database_factory.fresh("indexes"), redis_url=None, cache_enabled=False)
    )
    project_id, instance_id, manager, supplier = _build(database)
    with app_client(database.settings, database=database) as client:
        yield Indexed(
            database,
            client,
            {"Authorization": f"Bearer {manager}"},
            {"Authorization": f"Bearer {supplier}"},
            project_id,
            instance_id,
        )
    database.dispose()


def _tune(connection: Connection, *, small_table: bool = False) -> None:
    if connection.dialect.name == "postgresql" and small_table:
        connection.exec_driver_sql("SET enable_seqscan = off")


# --- the hot queries ---------------------------------------------------------------------------

HOT = [
    # (name, path, caller, table, leading columns that serve it, small table)
    ("instances by project", "/api/task-instances?projectId={p}", "manager",
     "task_instances", {"project_id"}, False),
    ("instances, supplier scope", "/api/task-instances", "supplier",
     "task_instances", {"supplier_id"}, False),
    ("instances by status", "/api/task-instances?status=SUBMITTED", "manager",
     "task_instances", {"status"}, False),
    ("overdue instances, by due date", "/api/task-instances?overdue=true&sort=actualDue",
     "manager", "task_instances", {"actual_due"}, False),
    ("one instance", "/api/task-instances/{i}", "manager",
     "task_instances", {"id"}, False),
    ("history of an instance", "/api/task-instances/{i}/history", "manager",
     "task_instance_history", {"task_instance_id"}, False),
    ("assignments of a project", "/api/projects/{p}/suppliers", "manager",
     "supplier_projects", {"project_id"}, True),
    ("templates of a project", "/api/projects/{p}/task-templates", "manager",
     "task_templates", {"project_id"}, True),
]  # fmt: skip


OVERDUE_BY_ID = pytest.param(
    "/api/task-instances?overdue=true", "manager", "task_instances", {"actual_due", "status"},
    False,
    id="overdue instances",
)  # fmt: skip


@pytest.mark.parametrize(
    ("path", "caller", "table", "served_by", "small_table"),
    [*(pytest.param(*case[1:], id=case[0]) for case in HOT), OVERDUE_BY_ID],
)
def test_hot_query_uses_an_index(
    indexed: Indexed,
    path: str,
    caller: str,
    table: str,
    served_by: set[str],
    small_table: bool,
) -> None:
    headers = indexed.supplier if caller == "supplier" else indexed.manager
    url = path.format(p=indexed.project_id, i=indexed.instance_id)
    with recording(indexed.database.engine) as log:
        response = indexed.client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "items" not in body or body["items"], "the hot query found nothing: a vacuous plan"
    queries = log.reading(table)
    assert queries, f"no SELECT from {table} was sent"
    statement, params = queries[-1]
    with indexed.database.engine.connect() as connection:
        _tune(connection, small_table=small_table)
        paths = access_paths(connection, statement, params, table)
        assert paths, f"the plan does not read {table}"
        assert FULL_SCAN not in paths, f"{paths} for {statement}"
        leading = {leading_column(connection, table, index) for index in paths}
        connection.rollback()
    assert leading & served_by, f"{paths} cannot serve a filter on {served_by}"


def test_next_page_of_a_project_uses_an_index(indexed: Indexed) -> None:
    """The keyset page after the first (``id > cursor``) is still an index search."""
    first = indexed.client.get(
        f"/api/task-instances?projectId={indexed.project_id}&limit=20", headers=indexed.manager
    )
    cursor = first.json()["nextCursor"]
    assert cursor
    with recording(indexed.database.engine) as log:
        second = indexed.client.get(
            f"/api/task-instances?projectId={indexed.project_id}&limit=20&cursor={cursor}",
            headers=indexed.manager,
        )
    assert second.status_code == 200
    assert second.json()["items"]
    statement, params = log.reading("task_instances")[-1]
    with indexed.database.engine.connect() as connection:
        paths = access_paths(connection, statement, params, "task_instances")
        assert FULL_SCAN not in paths
        # (project_id, id) or the primary key searched from the cursor on: both are seeks.
        leading = {leading_column(connection, "task_instances", i) for i in paths}
        assert leading & {"project_id", "id"}


def test_history_of_a_bulk_operation_uses_its_partial_index(indexed: Indexed) -> None:
    """Only bulk rows are indexed by operation, and ``= :id`` still finds that index."""
    from supplytrack.bulk.repository import BulkRepository

    with indexed.database.session_scope() as session:
        with recording(indexed.database.engine) as log:
            BulkRepository(session).changes(1)
        statement, params = log.reading("task_instance_history")[-1]
        connection = session.connection()
        _tune(connection)
        paths = access_paths(connection, statement, params, "task_instance_history")
    assert paths == {"ix_task_instance_history_bulk_operation_id"}, paths
