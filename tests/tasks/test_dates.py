"""The date engine over HTTP: future only, windows, dependency order, cascades, follow."""

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, AuditLog, TaskInstanceHistory
from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory, days


class Chain:
    """A project with milestones A -> B -> C (C depends on B depends on A) and two suppliers."""

    def __init__(self, factory: Factory, session: Session) -> None:
        self.session = session
        self.project = factory.project()
        self.a = factory.template(self.project, canonical_due=days(10), name="A")
        self.b = factory.template(self.project, (self.a.id,), canonical_due=days(20), name="B")
        self.c = factory.template(self.project, (self.b.id,), canonical_due=days(30), name="C")
        self.s1, self.s2 = factory.supplier(), factory.supplier()
        factory.assign(self.project, self.s1)
        factory.assign(self.project, self.s2)

    def instance(self, supplier: Supplier, template: TaskTemplate) -> TaskInstance:
        return self.session.scalars(
            select(TaskInstance).where(
                TaskInstance.supplier_id == supplier.id,
                TaskInstance.task_template_id == template.id,
            )
        ).one()

    def due(self, supplier: Supplier, template: TaskTemplate) -> date:
        self.session.expire_all()
        return self.instance(supplier, template).actual_due


@pytest.fixture
def chain(factory: Factory, session: Session) -> Chain:
    return Chain(factory, session)


def _patch(client: TestClient, caller: Caller, url: str, **body: object) -> tuple[int, dict]:
    response = client.patch(url, json=body, headers=caller.headers)
    return response.status_code, response.json()


def test_due_dates_must_be_today_or_later(
    client: TestClient, manager: Caller, chain: Chain, session: Session
) -> None:
    a1 = chain.instance(chain.s1, chain.a)
    url = f"/api/task-instances/{a1.id}"
    status, body = _patch(
        client,
        manager,
        url,
        actualDue=(today() - timedelta(days=1)).isoformat(),
        reasonCode="PLAN_CHANGE",
    )
    assert (status, body["error"]["code"]) == (422, "DUE_DATE_IN_PAST")
    assert (
        _patch(client, manager, url, actualDue=today().isoformat(), reasonCode="PLAN_CHANGE")[0]
        == 200
    )
    # An unchanged past date is not re-checked: an overdue instance can still move its status.
    session.execute(
        update(TaskInstance)
        .where(TaskInstance.id == a1.id)
        .values(actual_due=today() - timedelta(days=5))
    )
    assert _patch(client, manager, url, status="IN_PROGRESS")[0] == 200
    past_template = client.post(
        f"/api/projects/{chain.project.id}/task-templates",
        json={"name": "late", "canonicalDue": (today() - timedelta(days=1)).isoformat()},
        headers=manager.headers,
    )
    assert past_template.json()["error"]["code"] == "DUE_DATE_IN_PAST"


def test_project_window_and_sop(
    client: TestClient, manager: Caller, chain: Chain, session: Session
) -> None:
    outside = client.post(
        f"/api/projects/{chain.project.id}/task-templates",
        json={"name": "after SOP", "canonicalDue": days(400).isoformat()},
        headers=manager.headers,
    )
    assert outside.status_code == 422
    assert outside.json()["error"]["code"] == "OUTSIDE_PROJECT_WINDOW"
    shrink = client.patch(
        f"/api/projects/{chain.project.id}",
        json={"sopDate": days(25).isoformat()},
        headers=manager.headers,
    )
    assert shrink.json()["error"]["code"] == "OUTSIDE_PROJECT_WINDOW"
    assert session.get(Project, chain.project.id).sop_date == days(365)  # type: ignore[union-attr]
    c1 = chain.instance(chain.s1, chain.c)
    url = f"/api/task-instances/{c1.id}"
    no_reason = _patch(
        client, manager, url, actualDue=days(380).isoformat(), reasonCode="TOOLING_DELAY"
    )
    assert no_reason[0] == 422
    assert no_reason[1]["error"]["code"] == "REASON_REQUIRED"
    status, body = _patch(
        client,
        manager,
        url,
        actualDue=days(380).isoformat(),
        reasonCode="TOOLING_DELAY",
        reason="press broke down",
    )
    assert status == 200
    assert body["atRisk"] is True
    at_risk = client.get(
        f"/api/task-instances/{chain.instance(chain.s2, chain.c).id}", headers=manager.headers
    ).json()
    assert at_risk["atRisk"] is False


def test_instance_order_and_cascade(
    client: TestClient, manager: Caller, chain: Chain, session: Session
) -> None:
    a1 = chain.instance(chain.s1, chain.a)
    b1, c1 = chain.instance(chain.s1, chain.b), chain.instance(chain.s1, chain.c)
    url = f"/api/task-instances/{a1.id}"
    status, body = _patch(
        client, manager, url, actualDue=days(25).isoformat(), reasonCode="SUPPLIER_REQUEST"
    )
    assert (status, body["error"]["code"]) == (422, "DEPENDENCY_ORDER")
    assert [d["taskInstanceId"] for d in body["error"]["details"]] == [b1.id]
    assert chain.due(chain.s1, chain.a) == days(10)
    status, body = _patch(
        client,
        manager,
        url,
        actualDue=days(25).isoformat(),
        reasonCode="SUPPLIER_REQUEST",
        cascade=True,
    )
    assert status == 200, body
    assert (chain.due(chain.s1, chain.b), chain.due(chain.s1, chain.c)) == (days(35), days(45))
    # The other supplier is not touched.
    assert chain.due(chain.s2, chain.b) == days(20)
    rows = session.scalars(select(TaskInstanceHistory).order_by(TaskInstanceHistory.id)).all()
    assert sorted((r.task_instance_id, r.source) for r in rows) == sorted(
        [(a1.id, "API"), (b1.id, "CASCADE"), (c1.id, "CASCADE")]
    )
    assert len({r.change_id for r in rows}) == 1
    assert {r.reason_code for r in rows} == {"SUPPLIER_REQUEST"}
    # Moving before a prerequisite is refused even with cascade (cascades only push later).
    b_url = f"/api/task-instances/{b1.id}"
    refused = _patch(
        client,
        manager,
        b_url,
        actualDue=days(20).isoformat(),
        reasonCode="PLAN_CHANGE",
        cascade=True,
    )
    assert refused[1]["error"]["code"] == "DEPENDENCY_ORDER"
    history = client.get(
        f"/api/task-instances/{b1.id}/history?reasonCode=SUPPLIER_REQUEST", headers=manager.headers
    ).json()["items"]
    assert [item["source"] for item in history] == ["CASCADE"]


def test_template_move_followers_follow_moved_keep_unless_force(
    client: TestClient, manager: Caller, chain: Chain, session: Session
) -> None:
    moved = chain.instance(chain.s2, chain.c)
    _patch(
        client,
        manager,
        f"/api/task-instances/{moved.id}",
        actualDue=days(33).isoformat(),
        reasonCode="SUPPLIER_REQUEST",
    )
    url = f"/api/task-templates/{chain.c.id}"
    status, body = _patch(client, manager, url, canonicalDue=days(31).isoformat())
    assert (status, body["error"]["code"]) == (422, "REASON_CODE_REQUIRED")
    status, body = _patch(
        client, manager, url, canonicalDue=days(31).isoformat(), reasonCode="CUSTOMER_CHANGE"
    )
    assert status == 200, body
    assert chain.due(chain.s1, chain.c) == days(31)
    assert chain.due(chain.s2, chain.c) == days(33)
    status, body = _patch(
        client,
        manager,
        url,
        canonicalDue=days(32).isoformat(),
        reasonCode="CUSTOMER_CHANGE",
        force=True,
    )
    assert status == 200, body
    assert chain.due(chain.s1, chain.c) == days(32)
    assert chain.due(chain.s2, chain.c) == days(32)
    logged = session.scalars(
        select(AuditLog).where(
            AuditLog.entity == AuditEntity.TEMPLATE,
            AuditLog.entity_id == chain.c.id,
            AuditLog.field == "canonicalDue",
        )
    ).all()
    assert [(row.old_value, row.new_value) for row in logged] == [
        (days(30).isoformat(), days(31).isoformat()),
        (days(31).isoformat(), days(32).isoformat()),
    ]


def test_template_cascade_moves_downstream_templates_and_their_instances(
    client: TestClient, manager: Caller, chain: Chain
) -> None:
    url = f"/api/task-templates/{chain.a.id}"
    refused = _patch(client, manager, url, shiftDays=15, reasonCode="ENGINEERING_CHANGE")
    assert refused[1]["error"]["code"] == "DEPENDENCY_ORDER"
    status, body = _patch(
        client, manager, url, shiftDays=15, reasonCode="ENGINEERING_CHANGE", cascade=True
    )
    assert status == 200, body
    templates = {
        name: client.get(f"/api/task-templates/{t.id}", headers=manager.headers).json()
        for name, t in (("A", chain.a), ("B", chain.b), ("C", chain.c))
    }
    assert [templates[n]["canonicalDue"] for n in "ABC"] == [
        days(25).isoformat(),
        days(35).isoformat(),
        days(45).isoformat(),
    ]
    for supplier in (chain.s1, chain.s2):
        assert [chain.due(supplier, t) for t in (chain.a, chain.b, chain.c)] == [
            days(25),
            days(35),
            days(45),
        ]
    too_far = _patch(client, manager, url, shiftDays=400, reasonCode="PLAN_CHANGE", cascade=True)
    assert too_far[1]["error"]["code"] == "OUTSIDE_PROJECT_WINDOW"


def test_working_days_follow_the_project_calendar(
    client: TestClient, manager: Caller, chain: Chain
) -> None:
    holiday = chain.due(chain.s1, chain.c) + timedelta(days=1)
    put = client.put(
        f"/api/projects/{chain.project.id}/calendar",
        json={
            "workingWeekdays": ["MON", "TUE", "WED", "THU", "FRI"],
            "holidays": [{"date": holiday.isoformat(), "name": "plant shutdown"}],
            "reason": "2027 plan",
        },
        headers=manager.headers,
    )
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == '"1"'
    c1 = chain.instance(chain.s1, chain.c)
    status, body = _patch(
        client,
        manager,
        f"/api/task-instances/{c1.id}",
        shiftWorkingDays=3,
        reasonCode="MATERIAL_SHORTAGE",
    )
    assert status == 200, body
    landed = date.fromisoformat(body["actualDue"])
    assert landed.weekday() < 5
    assert landed != holiday
    expected, step = chain.due(chain.s2, chain.c), 0
    while step < 3:
        expected += timedelta(days=1)
        if expected.weekday() < 5 and expected != holiday:
            step += 1
    assert landed == expected
    stale = client.put(
        f"/api/projects/{chain.project.id}/calendar",
        json={"workingWeekdays": ["MON"]},
        headers={**manager.headers, "If-Match": '"0"'},
    )
    assert stale.status_code == 412


def test_submission_waits_for_prerequisites(
    client: TestClient, manager: Caller, chain: Chain
) -> None:
    a1, b1 = chain.instance(chain.s1, chain.a), chain.instance(chain.s1, chain.b)
    b_url = f"/api/task-instances/{b1.id}"
    assert _patch(client, manager, b_url, status="IN_PROGRESS")[0] == 200
    status, body = _patch(client, manager, b_url, status="SUBMITTED")
    assert (status, body["error"]["code"]) == (422, "PREREQUISITES_OPEN")
    assert body["error"]["details"] == [
        {"taskInstanceId": a1.id, "taskTemplateId": chain.a.id, "status": "NOT_STARTED"}
    ]
    a_url = f"/api/task-instances/{a1.id}"
    assert _patch(client, manager, a_url, status="WAIVED", reason="not needed")[0] == 200
    assert _patch(client, manager, b_url, status="SUBMITTED")[0] == 200


def test_capability_removal_needs_force_and_waives(
    client: TestClient, manager: Caller, factory: Factory, session: Session
) -> None:
    project = factory.project()
    molding = factory.template(project, required_capability="injection_molding")
    supplier = factory.supplier(capabilities=("injection_molding", "machining"))
    factory.assign(project, supplier)
    url = f"/api/suppliers/{supplier.id}"
    refused = client.patch(url, json={"capabilities": ["machining"]}, headers=manager.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CAPABILITY_IN_USE"
    no_reason = client.patch(
        url, json={"capabilities": ["machining"], "force": True}, headers=manager.headers
    )
    assert no_reason.status_code == 422
    forced = client.patch(
        url,
        json={"capabilities": ["machining"], "force": True, "reason": "moved to another plant"},
        headers=manager.headers,
    )
    assert forced.status_code == 200, forced.text
    instance = session.scalars(
        select(TaskInstance).where(TaskInstance.task_template_id == molding.id)
    ).one()
    session.refresh(instance)
    assert instance.status == "WAIVED"
    history = session.scalars(select(TaskInstanceHistory)).one()
    assert (history.source, history.new_value, history.reason) == (
        "SYSTEM",
        "WAIVED",
        "moved to another plant",
    )
    # Gaining a capability fans out the milestones that need it.
    pcb = factory.template(project, required_capability="pcb_assembly")
    gained = client.patch(
        url, json={"capabilities": ["machining", "pcb_assembly"]}, headers=manager.headers
    )
    assert gained.status_code == 200
    assert session.scalars(
        select(TaskInstance.id).where(TaskInstance.task_template_id == pcb.id)
    ).one()
