"""The report queries of one project use indexes on both engines (EXPLAIN of the real SQL)."""

import json

import pytest
from sqlalchemy import Connection

from tests.core.helpers import recording
from tests.core.test_indexes import FULL_SCAN, Indexed, _tune, access_paths, indexed, leading_column

__all__ = ["indexed"]  # the module-scoped data set of the index tests, reused here

# Reading the partial index of rejections whole is the point of that index: it holds only
# the few REJECTED status rows, which the first-pass rate asks about for every instance.
PARTIAL = "ix_task_instance_history_rejected"

REPORTS = [
    # (name, path, table, leading columns that serve it)
    ("performance of a project, instances",
     "/api/reports/supplier-performance?projectId={p}&from=2020-01-01", "task_instances",
     {"project_id", "actual_due"}),
    ("performance of a project, history (slips and rejections)",
     "/api/reports/supplier-performance?projectId={p}&from=2020-01-01", "task_instance_history",
     {"task_instance_id"}),
    ("status of a project", "/api/reports/project-status?projectId={p}", "task_instances",
     {"project_id"}),
]  # fmt: skip


def statement_indexes(connection: Connection, statement: str, params: object) -> str:
    """The plan as text, to see which indexes it names."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
        return " ".join(str(row[-1]) for row in rows)
    raw = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar_one()
    return raw if isinstance(raw, str) else json.dumps(raw)


@pytest.mark.parametrize(
    ("path", "table", "served_by"), [pytest.param(*case[1:], id=case[0]) for case in REPORTS]
)
def test_report_queries_use_indexes(
    indexed: Indexed, path: str, table: str, served_by: set[str]
) -> None:
    with recording(indexed.database.engine) as log:
        response = indexed.client.get(path.format(p=indexed.project_id), headers=indexed.manager)
    assert response.status_code == 200, response.text
    assert response.json()["items"], "the report found nothing: a vacuous plan"
    queries = log.reading(table)
    if table == "task_instance_history":
        queries = [(s, p) for s, p in queries if "task_instance_history" in s.split("FROM")[1]]
    assert queries, f"no report query reads {table}"
    with indexed.database.engine.connect() as connection:
        _tune(connection, small_table=False)
        for statement, params in queries:
            paths = access_paths(connection, statement, params, table)
            assert paths, f"the plan does not read {table}: {statement}"
            if table == "task_instance_history" and PARTIAL in statement_indexes(
                connection, statement, params
            ):
                paths = (paths - {FULL_SCAN}) | {PARTIAL}
            assert FULL_SCAN not in paths, f"{paths} for {statement}"
            leading = {leading_column(connection, table, index) for index in paths}
            assert leading & served_by, f"{paths} cannot serve {served_by}: {statement}"
        connection.rollback()
