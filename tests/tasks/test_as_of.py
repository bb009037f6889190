"""The plan as of a past day, rebuilt from history."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.time import today
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory, days


def _at(day_offset: int, hour: int = 12) -> datetime:
    base = datetime.combine(today(), datetime.min.time(), tzinfo=UTC)
    return base + timedelta(days=day_offset, hours=hour)


def test_status_and_due_date_as_they_stood(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    factory.assign(project, factory.supplier())
    factory.template(project, canonical_due=days(30))
    instance = session.scalars(select(TaskInstance)).one()
    session.execute(update(TaskInstance).values(created_at=_at(-20)))
    # History written in the past (as an import would): started 10 days ago, moved 5 days ago.
    base = {"task_instance_id": instance.id, "actor": "system:test", "source": "IMPORT"}
    session.execute(
        insert(TaskInstanceHistory),
        [
            {
                **base,
                "field": "STATUS",
                "old_value": "NOT_STARTED",
                "new_value": "IN_PROGRESS",
                "changed_at": _at(-10),
            },
            {
                **base,
                "field": "ACTUAL_DUE",
                "old_value": days(20).isoformat(),
                "new_value": days(30).isoformat(),
                "changed_at": _at(-5),
            },
            {
                **base,
                "field": "STATUS",
                "old_value": "IN_PROGRESS",
                "new_value": "BLOCKED",
                "changed_at": _at(-2, hour=23),
            },
        ],
    )
    session.execute(update(TaskInstance).values(status="BLOCKED"))
    url = f"/api/task-instances/{instance.id}"

    def as_of(offset: int) -> dict:
        response = client.get(
            f"{url}?asOf={(today() + timedelta(days=offset)).isoformat()}", headers=manager.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert (as_of(-15)["status"], as_of(-15)["actualDue"]) == ("NOT_STARTED", days(20).isoformat())
    assert (as_of(-7)["status"], as_of(-7)["actualDue"]) == ("IN_PROGRESS", days(20).isoformat())
    assert (as_of(-3)["status"], as_of(-3)["actualDue"]) == ("IN_PROGRESS", days(30).isoformat())
    # The change at 23:00 UTC on day -2 belongs to day -2 (APP_TIMEZONE is UTC here).
    assert as_of(-2)["status"] == "BLOCKED"
    assert as_of(0)["status"] == "BLOCKED"
    assert (
        client.get(
            f"{url}?asOf={(today() - timedelta(days=25)).isoformat()}", headers=manager.headers
        ).status_code
        == 404
    )
    assert (
        client.get(f"{url}?asOf={days(1).isoformat()}", headers=manager.headers).status_code == 422
    )
    week_ago = (today() - timedelta(days=7)).isoformat()
    listed = client.get(
        f"/api/task-instances?projectId={project.id}&asOf={week_ago}&status=IN_PROGRESS",
        headers=manager.headers,
    ).json()
    assert [item["id"] for item in listed["items"]] == [instance.id]
    none = client.get(
        f"/api/task-instances?projectId={project.id}&asOf={week_ago}&status=BLOCKED",
        headers=manager.headers,
    ).json()
    assert none["items"] == []
