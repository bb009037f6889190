"""Computed dates stay in the one valid range: shifts, cascades and working days near its end.

Every path that computes a date (a PATCH by days or working days, its cascade, a milestone
move, a bulk preview, a bulk apply inline and as a job) answers 422 DATE_OUT_OF_RANGE with
nothing written when a result would leave 1900-01-01..2199-12-31, identically on both
engines; so does a date that was stored out of range before the rule existed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supplytrack.core.time import LAST_DAY
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.contract.test_bad_input import snapshot
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory

NEAR_END = LAST_DAY - timedelta(days=1)


class Edge:
    """A windowless project: milestone A due 4 days, B (after A) 1 day before the last day."""

    def __init__(self, factory: Factory, session: Session) -> None:
        self.session = session
        self.project = factory.project(start_date=None, sop_date=None)
        self.a = factory.template(self.project, canonical_due=NEAR_END - timedelta(days=3))
        self.b = factory.template(self.project, (self.a.id,), canonical_due=NEAR_END)
        self.supplier = factory.supplier()
        factory.assign(self.project, self.supplier)

    def instance(self, template: TaskTemplate) -> int:
        return int(
            self.session.scalars(
                select(TaskInstance.id).where(TaskInstance.task_template_id == template.id)
            ).one()
        )


@pytest.fixture
def edge(factory: Factory, session: Session) -> Edge:
    return Edge(factory, session)


def _refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _out_of_range(response: Any) -> None:
    error = _refused(response)
    assert error["code"] in {"DATE_OUT_OF_RANGE", "DATE_CHANGE_REFUSED"}, error
    if error["code"] == "DATE_CHANGE_REFUSED":
        assert "DATE_OUT_OF_RANGE" in {v["code"] for v in error["details"]}, error


SHIFTS: dict[str, dict[str, Any]] = {
    "shiftDays": {"shiftDays": 10},
    "shiftWorkingDays": {"shiftWorkingDays": 10},
    "actualDue past the end by cascade": {"shiftDays": 3, "cascade": True},
}


@pytest.mark.parametrize("body", SHIFTS.values(), ids=SHIFTS.keys())
def test_instance_patch_past_the_last_day_is_refused(
    client: TestClient, manager: Caller, edge: Edge, session: Session, body: dict[str, Any]
) -> None:
    before = snapshot(session)
    target = edge.a if body.get("cascade") else edge.b
    response = client.patch(
        f"/api/task-instances/{edge.instance(target)}",
        json={**body, "reasonCode": "PLAN_CHANGE"},
        headers=manager.headers,
    )
    assert _refused(response)["code"] == "DATE_OUT_OF_RANGE"
    assert snapshot(session) == before


@pytest.mark.parametrize("body", SHIFTS.values(), ids=SHIFTS.keys())
def test_milestone_move_past_the_last_day_is_refused(
    client: TestClient, manager: Caller, edge: Edge, session: Session, body: dict[str, Any]
) -> None:
    before = snapshot(session)
    target = edge.a if body.get("cascade") else edge.b
    response = client.patch(
        f"/api/task-templates/{target.id}",
        json={**body, "reasonCode": "PLAN_CHANGE"},
        headers=manager.headers,
    )
    assert _refused(response)["code"] == "DATE_OUT_OF_RANGE"
    assert snapshot(session) == before


BULK = {
    "uniform shift": {"shiftDays": 10},
    "working days": {"shiftWorkingDays": 10},
    "one milestone": {"shiftDays": 10, "templateIds": ["b"]},
    "cascade": {"shiftDays": 3, "templateIds": ["a"], "cascade": True},
    "new date": {"newDate": LAST_DAY.isoformat(), "templateIds": ["a"], "cascade": True},
}


def _bulk(body: dict[str, Any], edge: Edge) -> dict[str, Any]:
    ids = {"a": edge.a.id, "b": edge.b.id}
    return {
        **body,
        **({"templateIds": [ids[t] for t in body["templateIds"]]} if "templateIds" in body else {}),
    }


@pytest.mark.parametrize("body", BULK.values(), ids=BULK.keys())
def test_bulk_preview_lists_and_apply_refuses_out_of_range(
    client: TestClient, manager: Caller, edge: Edge, session: Session, body: dict[str, Any]
) -> None:
    change = _bulk(body, edge)
    url = f"/api/projects/{edge.project.id}/bulk-update-dates"
    preview = client.get(url, params=change, headers=manager.headers)
    assert preview.status_code == 200, preview.text
    codes = {violation["code"] for violation in preview.json()["violations"]}
    assert "DATE_OUT_OF_RANGE" in codes
    before = snapshot(session)
    _out_of_range(
        client.post(url, json={**change, "reasonCode": "PLAN_CHANGE"}, headers=manager.headers)
    )
    assert snapshot(session) == before


def test_dates_stored_out_of_range_are_refused_not_overflowed(
    client: TestClient, manager: Caller, edge: Edge, session: Session
) -> None:
    """Rows written before the rule (9999-12-30) cannot be shifted into an overflow."""
    far = date(9999, 12, 30)
    session.execute(update(TaskInstance).values(actual_due=far))
    session.flush()
    before = snapshot(session)
    url = f"/api/task-instances/{edge.instance(edge.b)}"
    for body in ({"shiftDays": 10}, {"shiftWorkingDays": 10}, {"shiftDays": -10}):
        response = client.patch(
            url, json={**body, "reasonCode": "PLAN_CHANGE"}, headers=manager.headers
        )
        assert _refused(response)["code"] == "DATE_OUT_OF_RANGE", body
    bulk = f"/api/projects/{edge.project.id}/bulk-update-dates"
    preview = client.get(bulk, params={"shiftDays": 3650}, headers=manager.headers)
    assert preview.status_code == 200, preview.text
    assert "DATE_OUT_OF_RANGE" in {v["code"] for v in preview.json()["violations"]}
    _out_of_range(
        client.post(
            bulk, json={"shiftDays": 3650, "reasonCode": "PLAN_CHANGE"}, headers=manager.headers
        )
    )
    assert snapshot(session) == before
    listed = client.get(
        "/api/task-instances", params={"projectId": edge.project.id}, headers=manager.headers
    )
    assert listed.status_code == 200
    assert {item["actualDue"] for item in listed.json()["items"]} == {far.isoformat()}
