"""Edges of the report figures: a supplier whose tasks are all waived, local days by time zone."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.models import UTCDateTime
from supplytrack.core.time import today
from supplytrack.reports.dialect import local_date
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller
from tests.fixtures.database import settings_for
from tests.fixtures.factories import Factory, days


def test_a_supplier_with_everything_waived_is_not_rated(
    client: TestClient, viewer: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    supplier = factory.supplier()
    factory.template(project)
    factory.template(project)
    factory.assign(project, supplier)
    session.execute(
        update(TaskInstance)
        .where(TaskInstance.supplier_id == supplier.id)
        .values(
            status="WAIVED", completed_at=datetime.now(UTC), actual_due=today() - timedelta(days=3)
        )
    )
    rows = client.get(
        "/api/reports/supplier-performance",
        params={"projectId": project.id},
        headers=viewer.headers,
    ).json()["items"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["tasksDue"], row["submitted"], row["approved"]) == (0, 0, 0)
    assert (row["onTimeRate"], row["firstPassRate"], row["avgDaysLate"]) == (None, None, None)
    assert (row["rating"], row["score"], row["openOverdue"]) == ("NOT_RATED", None, 0)
    status = client.get(
        "/api/reports/project-status", params={"projectId": project.id}, headers=viewer.headers
    ).json()["items"][0]
    assert (status["percentComplete"], status["overdue"]) == (100.0, 0)
    assert days(0) == today()


@pytest.mark.parametrize(
    ("zone", "instant", "local_day"),
    [
        ("UTC", "2026-03-01T23:59:59", "2026-03-01"),
        ("America/New_York", "2026-03-02T03:00:00", "2026-03-01"),  # 22:00 the day before
        ("America/New_York", "2026-03-02T05:00:00", "2026-03-02"),  # midnight passed
        ("Asia/Tokyo", "2026-03-01T15:30:00", "2026-03-02"),  # already the next day
        ("Europe/Berlin", "2026-03-29T22:30:00", "2026-03-30"),  # across the DST change
    ],
)
def test_local_days_agree_with_python_on_both_engines(
    shared_database: Database, zone: str, instant: str, local_day: str
) -> None:
    """Submission days are days of APP_TIMEZONE, whatever the engine."""
    database = Database(settings_for(shared_database.url, app_timezone=zone))
    moment = datetime.fromisoformat(instant).replace(tzinfo=UTC)
    try:
        with database.engine.connect() as connection:
            expression = local_date(literal(moment, UTCDateTime()), connection.dialect.name, zone)
            value = connection.execute(select(expression)).scalar_one()
    finally:
        database.dispose()
    assert str(value)[:10] == local_day


def test_reports_read_from_the_replica_when_one_is_set(
    committed_database: Database, database_factory: object
) -> None:
    """With DATABASE_READ_URL, reports read there (here: an empty replica), the rest does not."""
    from fastapi.testclient import TestClient as Client

    from supplytrack.core.identity import Role
    from supplytrack.main import create_app
    from tests.fixtures.auth import make_caller
    from tests.fixtures.database import DatabaseFactory

    assert isinstance(database_factory, DatabaseFactory)
    replica_url = database_factory.fresh("replica")
    with committed_database.session_scope() as session:
        Factory(session).project(code="PRIMARY-ONLY")
        caller = make_caller(session, Role.VIEWER)
    settings = committed_database.settings.model_copy(update={"database_read_url": replica_url})
    database = Database(settings)
    try:
        with Client(create_app(settings, database=database)) as client:
            # The token lives on the primary; authentication reads the primary.
            projects = client.get("/api/projects", headers=caller.headers).json()["items"]
            assert [p["code"] for p in projects] == ["PRIMARY-ONLY"]
            report = client.get("/api/reports/project-status", headers=caller.headers)
            assert report.status_code == 200, report.text
            assert report.json()["items"] == []  # the replica has no project
    finally:
        database.dispose()
