"""GET /api/audit-log: the changes to templates, calendars, suppliers, for admins and viewers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory, days


def _log(client: TestClient, caller: Caller, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/audit-log", params=params, headers=caller.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_template_move_and_a_calendar_change_are_read_back_with_who_and_why(
    client: TestClient, manager: Caller, viewer: Caller, admin: Caller, factory: Factory
) -> None:
    project = factory.project()
    template = factory.template(project, canonical_due=days(20))
    moved = client.patch(
        f"/api/task-templates/{template.id}",
        json={"shiftDays": 2, "reasonCode": "CUSTOMER_CHANGE", "reason": "SOP moved"},
        headers={**manager.headers, "If-Match": f'"{template.version}"'},
    )
    assert moved.status_code == 200, moved.text
    calendar = client.put(
        f"/api/projects/{project.id}/calendar",
        json={"workingWeekdays": ["MON", "TUE", "WED", "THU"], "reason": "four-day week"},
        headers=manager.headers,
    )
    assert calendar.status_code == 200, calendar.text
    every = _log(client, viewer, entity="TEMPLATE", id=template.id)["items"]
    assert every[-1]["field"] == "created"  # the factory made it through the service
    rows = [row for row in every if row["requestId"] == moved.headers["X-Request-ID"]]
    assert rows, "the move wrote no audit row"
    assert {(r["reasonCode"], r["reason"], r["source"]) for r in rows} == {
        ("CUSTOMER_CHANGE", "SOP moved", "API")
    }
    assert {r["actorId"] for r in rows} == {manager.token_id}
    assert rows[0]["requestId"] == moved.headers["X-Request-ID"]
    calendars = _log(client, admin, entity="CALENDAR", id=project.id)["items"]
    assert calendars
    assert calendars[0]["reason"] == "four-day week"
    by_manager = _log(client, admin, actor=manager.token_id, limit=1)
    assert len(by_manager["items"]) == 1
    assert by_manager["nextCursor"] is not None
    rest = _log(client, admin, actor=manager.token_id, cursor=by_manager["nextCursor"])
    assert rest["items"]
    assert rest["items"][0]["id"] < by_manager["items"][0]["id"]
    assert _log(client, admin, **{"from": "2199-01-01T00:00:00Z"})["items"] == []


def test_only_admins_and_viewers_read_it(client: TestClient, manager: Caller) -> None:
    answer = client.get("/api/audit-log", headers=manager.headers)
    assert answer.status_code == 403
    bad = client.get("/api/audit-log", params={"entity": "TOKEN"}, headers=manager.headers)
    assert bad.status_code == 403  # the role is checked first
