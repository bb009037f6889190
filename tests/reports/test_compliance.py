"""Compliance reports on a hand-built data set where each figure is known in advance.

The history, audit-log and access-log rows lie in March and April 2025 (2025-03-03 is a
Monday), so windows over those months never see the rows the test's own setup writes now.
The overdue instances are due relative to today. Identical figures on both engines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.audit.models import AccessLogEntry, AuditLog, TaskInstanceHistory
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.reports import exports
from supplytrack.reports.dialect import day_literal, period_start
from supplytrack.suppliers.models import Supplier, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.database import TransactionalDatabase

BASE = "/api/reports/compliance"
WINDOW = {"from": "2025-03-01", "to": "2025-04-30"}


def at(day: str, clock: str = "12:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=UTC)


@dataclass
class Data:
    project: Project
    suppliers: dict[str, Supplier]
    instances: dict[str, int]
    history: dict[int, int]  # row number (as in the module's comments) -> history id
    manager: Caller
    admin: Caller
    s1: Caller
    s2: Caller

    def caller(self, name: str) -> Caller:
        return {"manager": self.manager, "admin": self.admin, "s1": self.s1, "s2": self.s2}[name]


# name: (supplier, milestone, status now, due: date or days from today)
INSTANCES: dict[str, tuple[str, str, str, Any]] = {
    "i1": ("s1", "m1", "APPROVED", date(2025, 4, 10)),
    "i2": ("s1", "m2", "APPROVED", date(2025, 7, 15)),
    "i3": ("s1", "m3", "APPROVED", date(2025, 8, 1)),
    "j1": ("s2", "m1", "APPROVED", date(2025, 4, 1)),
    "j2": ("s2", "m2", "APPROVED", date(2025, 4, 20)),
    # Overdue aging (days from today): s1 has 2 + 1 + 1 + 1, s2 1 + 1, s3 (removed) none.
    "o1": ("s1", "o1", "IN_PROGRESS", -3),
    "o2": ("s1", "o2", "NOT_STARTED", -7),
    "o3": ("s1", "o3", "REJECTED", -8),
    "o4": ("s1", "o4", "BLOCKED", -91),
    "o5": ("s1", "o5", "IN_PROGRESS", -90),
    "o6": ("s1", "o6", "SUBMITTED", -10),  # waits on us: not overdue
    "o7": ("s1", "o7", "NOT_STARTED", 0),  # due today: not overdue
    "p1": ("s2", "o1", "NOT_STARTED", -31),
    "p2": ("s2", "o2", "IN_PROGRESS", -30),
    "q1": ("s3", "o1", "IN_PROGRESS", -5),  # removed assignment
}

# Row number: (instance, field, old, new, when, actor, source, reason code, reason)
HISTORY: dict[int, tuple[str, str, str, str, datetime, str, str, str | None, str | None]] = {
    1: ("i1", "ACTUAL_DUE", "2025-04-01", "2025-04-10", at("2025-03-03", "10:00"), "s1", "API",
        None, ""),  # no reason
    2: ("i2", "ACTUAL_DUE", "2025-06-01", "2025-07-15", at("2025-03-04"), "manager", "API",
        "PLAN_CHANGE", None),  # past SOP (2025-06-30)
    3: ("i3", "ACTUAL_DUE", "2025-06-02", "2025-08-01", at("2025-03-05"), "manager", "BULK",
        None, None),  # both
    4: ("j1", "ACTUAL_DUE", "2025-03-20", "2025-04-01", at("2025-03-10"), "manager", "API",
        "TOOLING_DELAY", "press down"),  # fine
    5: ("j2", "ACTUAL_DUE", "2025-04-01", "2025-04-20", at("2025-03-11"), "manager", "API",
        None, "   "),  # blank text: no reason
    6: ("i1", "STATUS", "NOT_STARTED", "SUBMITTED", at("2025-03-12"), "s1", "API", None, None),
    7: ("i2", "STATUS", "SUBMITTED", "APPROVED", at("2025-03-13"), "manager", "IMPORT",
        None, None),  # prerequisite i1 was SUBMITTED (row 6)
    8: ("i1", "STATUS", "SUBMITTED", "APPROVED", at("2025-03-16", "23:30"), "manager", "API",
        None, None),  # a Sunday: still the week of 2025-03-10
    9: ("j2", "STATUS", "SUBMITTED", "APPROVED", at("2025-03-17", "00:00"), "manager", "IMPORT",
        None, None),  # prerequisite j1 was IN_PROGRESS (row 10's old value)
    10: ("j1", "STATUS", "IN_PROGRESS", "APPROVED", at("2025-03-25"), "manager", "API",
         None, None),
    11: ("i3", "STATUS", "SUBMITTED", "REJECTED", at("2025-04-02"), "manager", "API",
         None, None),
    12: ("i3", "STATUS", "REJECTED", "APPROVED", at("2025-04-03"), "admin", "API",
         None, None),  # prerequisite i1 APPROVED by then (row 8)
}  # fmt: skip


@pytest.fixture
def database(row_secured_database: Database) -> Iterator[TransactionalDatabase]:
    """The test's rolled-back view of the row-secured database.

    On PostgreSQL the application connects as a role that owns nothing, so every report
    below runs under row-level security (a supplier's access log too, which RLS keeps from
    supplier roles); the data set is written outside a request, as the system.
    """
    with row_secured_database.engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield TransactionalDatabase(row_secured_database.settings, connection)
        finally:
            transaction.rollback()


@pytest.fixture
def data(session: Session, manager: Caller, admin: Caller) -> Data:
    project = Project(
        code="C-1",
        name="Compliance",
        status="ACTIVE",
        start_date=date(2024, 1, 1),
        sop_date=date(2025, 6, 30),
    )
    session.add(project)
    suppliers = {
        name: Supplier(code=f"C-{name}", name=f"Supplier {name}", status="ACTIVE")
        for name in ("s1", "s2", "s3")
    }
    session.add_all(suppliers.values())
    session.flush()
    assignments = {}
    for name, status in (("s1", "ACTIVE"), ("s2", "ACTIVE"), ("s3", "REMOVED")):
        assignments[name] = SupplierProject(
            supplier_id=suppliers[name].id, project_id=project.id, status=status
        )
        session.add(assignments[name])
    session.flush()
    templates: dict[str, TaskTemplate] = {}
    for sequence, name in enumerate(sorted({row[1] for row in INSTANCES.values()})):
        templates[name] = TaskTemplate(
            project_id=project.id, name=f"M-{name}", canonical_due=date(2025, 4, 1),
            sequence=sequence,
        )  # fmt: skip
        session.add(templates[name])
    session.flush()
    for dependent in ("m2", "m3"):
        session.add(
            TaskTemplateDependency(
                template_id=templates[dependent].id,
                depends_on_id=templates["m1"].id,
                project_id=project.id,
            )
        )
    instances: dict[str, int] = {}
    for name, (who, milestone, status, due) in INSTANCES.items():
        instance = TaskInstance(
            supplier_project_id=assignments[who].id,
            project_id=project.id,
            supplier_id=suppliers[who].id,
            task_template_id=templates[milestone].id,
            status=status,
            actual_due=due if isinstance(due, date) else today() + timedelta(days=due),
            submitted_at=at("2025-03-01") if status in ("SUBMITTED", "APPROVED") else None,
            completed_at=at("2025-03-02") if status == "APPROVED" else None,
        )
        session.add(instance)
        session.flush()
        instances[name] = instance.id
    s1 = make_caller(session, Role.SUPPLIER, suppliers["s1"].id)
    s2 = make_caller(session, Role.SUPPLIER, suppliers["s2"].id)
    result = Data(project, suppliers, instances, {}, manager, admin, s1, s2)
    for number, (name, field, old, new, when, who, source, code, reason) in HISTORY.items():
        row = TaskInstanceHistory(
            task_instance_id=instances[name],
            field=field,
            old_value=old,
            new_value=new,
            changed_at=when,
            actor_id=result.caller(who).token_id,
            actor=f"{who}:test",
            source=source,
            reason_code=code,
            reason=reason,
        )
        session.add(row)
        session.flush()  # one at a time: ids in row-number order
        result.history[number] = row.id
    for entity, who, when in (("PROJECT", "manager", at("2025-03-03")), ("SUPPLIER", "admin",
                              at("2025-03-19"))):  # fmt: skip
        session.add(
            AuditLog(
                entity=entity,
                entity_id=project.id,
                field="name",
                old_value="a",
                new_value="b",
                changed_at=when,
                actor_id=result.caller(who).token_id,
                actor=f"{who}:test",
                source="API",
            )
        )
        session.flush()
    access = [
        ("s1", 9001, 200, at("2025-03-03", "08:00")),
        ("s1", 9001, 404, at("2025-03-03", "09:00")),
        ("s1", 9002, 200, at("2025-03-05")),
        ("s2", 9003, 200, at("2025-03-04")),
        ("s1", 9001, 403, at("2025-04-01")),
        (None, 9004, 200, at("2025-03-03")),  # a staff token: not a supplier's access
    ]
    for who, token, status, when in access:
        session.add(
            AccessLogEntry(
                at=when,
                token_id=token,
                role="supplier" if who else "manager",
                supplier_id=suppliers[who].id if who else None,
                method="GET",
                route="/api/task-instances",
                target="/api/task-instances",
                status=status,
                request_id=f"req-{token}-{status}",
            )
        )
    session.flush()
    return result


def _get(client: TestClient, caller: Caller, route: str, **params: Any) -> Any:
    response = client.get(f"{BASE}/{route}", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


# 1. Changes by actor and period -------------------------------------------------------------


def _changes(body: Any) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {
        (item["periodStart"], item["actor"]): (
            item["instanceChanges"],
            item["otherChanges"],
            item["changes"],
        )
        for item in body["items"]
    }


def test_changes_per_actor_and_week(client: TestClient, data: Data) -> None:
    body = _get(client, data.manager, "changes", period="week", **WINDOW)
    assert _changes(body) == {
        ("2025-03-03", "s1:test"): (1, 0, 1),
        ("2025-03-03", "manager:test"): (2, 1, 3),
        ("2025-03-10", "manager:test"): (4, 0, 4),  # rows 4, 5, 7 and 8 (a Sunday night)
        ("2025-03-10", "s1:test"): (1, 0, 1),
        ("2025-03-17", "manager:test"): (1, 0, 1),  # row 9, Monday 00:00
        ("2025-03-17", "admin:test"): (0, 1, 1),
        ("2025-03-24", "manager:test"): (1, 0, 1),
        ("2025-03-31", "manager:test"): (1, 0, 1),
        ("2025-03-31", "admin:test"): (1, 0, 1),
    }
    assert body["items"][0]["periodStart"] == "2025-03-03"
    assert {item["actorId"] for item in body["items"]} == {
        data.manager.token_id,
        data.admin.token_id,
        data.s1.token_id,
    }


def test_changes_per_month_day_and_actor(client: TestClient, data: Data) -> None:
    months = _changes(_get(client, data.manager, "changes", period="month", **WINDOW))
    assert months == {
        ("2025-03-01", "manager:test"): (8, 1, 9),
        ("2025-03-01", "s1:test"): (2, 0, 2),
        ("2025-03-01", "admin:test"): (0, 1, 1),
        ("2025-04-01", "manager:test"): (1, 0, 1),
        ("2025-04-01", "admin:test"): (1, 0, 1),
    }
    days = _changes(
        _get(
            client,
            data.manager,
            "changes",
            period="day",
            **{"from": "2025-03-03", "to": "2025-03-03"},
        )
    )
    assert days == {("2025-03-03", "s1:test"): (1, 0, 1), ("2025-03-03", "manager:test"): (0, 1, 1)}
    only_admin = _get(client, data.manager, "changes", actorId=data.admin.token_id, **WINDOW)
    assert _changes(only_admin) == {
        ("2025-03-01", "admin:test"): (0, 1, 1),
        ("2025-04-01", "admin:test"): (1, 0, 1),
    }
    paged = _get(client, data.manager, "changes", limit=2, **WINDOW)
    assert len(paged["items"]) == 2
    rest = _get(client, data.manager, "changes", limit=10, cursor=paged["nextCursor"], **WINDOW)
    assert len(rest["items"]) == 3
    assert rest["nextCursor"] is None


def test_supplier_counts_its_own_instances_history_only(client: TestClient, data: Data) -> None:
    months = _changes(_get(client, data.s1, "changes", period="month", **WINDOW))
    assert months == {
        ("2025-03-01", "s1:test"): (2, 0, 2),  # rows 1 and 6
        ("2025-03-01", "manager:test"): (4, 0, 4),  # rows 2, 3, 7, 8: no audit-log row
        ("2025-04-01", "manager:test"): (1, 0, 1),
        ("2025-04-01", "admin:test"): (1, 0, 1),
    }
    s2 = _changes(_get(client, data.s2, "changes", period="month", **WINDOW))
    assert s2 == {("2025-03-01", "manager:test"): (4, 0, 4)}  # rows 4, 5, 9, 10


# 2. Due-date changes ---------------------------------------------------------------------


def test_due_date_changes_without_reason_or_past_sop(client: TestClient, data: Data) -> None:
    body = _get(client, data.manager, "due-date-changes", **WINDOW)
    items = body["items"]
    assert [item["id"] for item in items] == [data.history[n] for n in (5, 3, 2, 1)]
    assert [item["flags"] for item in items] == [
        ["NO_REASON"],
        ["NO_REASON", "PAST_SOP"],
        ["PAST_SOP"],
        ["NO_REASON"],
    ]
    both = items[1]
    assert both == {
        "id": data.history[3],
        "flags": ["NO_REASON", "PAST_SOP"],
        "taskInstanceId": data.instances["i3"],
        "projectId": data.project.id,
        "projectCode": "C-1",
        "sopDate": "2025-06-30",
        "supplierId": data.suppliers["s1"].id,
        "supplierCode": "C-s1",
        "taskTemplateId": both["taskTemplateId"],
        "milestone": "M-m3",
        "oldDue": "2025-06-02",
        "newDue": "2025-08-01",
        "changedAt": "2025-03-05T12:00:00Z",
        "actorId": data.manager.token_id,
        "actor": "manager:test",
        "source": "BULK",
        "reasonCode": None,
        "reason": None,
    }
    assert items[2]["reasonCode"] == "PLAN_CHANGE"
    first = _get(client, data.manager, "due-date-changes", limit=3, **WINDOW)
    assert [item["id"] for item in first["items"]] == [data.history[n] for n in (5, 3, 2)]
    second = _get(
        client, data.manager, "due-date-changes", limit=3, cursor=first["nextCursor"], **WINDOW
    )
    assert [item["id"] for item in second["items"]] == [data.history[1]]
    assert second["nextCursor"] is None
    of_s2 = _get(
        client, data.manager, "due-date-changes", supplierId=data.suppliers["s2"].id, **WINDOW
    )
    assert [item["id"] for item in of_s2["items"]] == [data.history[5]]
    early = _get(
        client, data.manager, "due-date-changes", **{"from": "2025-03-01", "to": "2025-03-04"}
    )
    assert [item["id"] for item in early["items"]] == [data.history[2], data.history[1]]


def test_supplier_sees_its_own_due_date_changes(client: TestClient, data: Data) -> None:
    own = _get(client, data.s1, "due-date-changes", **WINDOW)
    assert [item["id"] for item in own["items"]] == [data.history[n] for n in (3, 2, 1)]
    named = _get(client, data.s1, "due-date-changes", supplierId=data.suppliers["s1"].id, **WINDOW)
    assert named == own
    other = client.get(
        f"{BASE}/due-date-changes",
        params={"supplierId": data.suppliers["s2"].id, **WINDOW},
        headers=data.s1.headers,
    )
    missing = client.get(
        f"{BASE}/due-date-changes",
        params={"supplierId": 999_999, **WINDOW},
        headers=data.s1.headers,
    )
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == missing.json()["error"]["code"] == "NOT_FOUND"


# 3. Approvals by approver ----------------------------------------------------------------


def test_approvals_per_approver(client: TestClient, data: Data) -> None:
    body = _get(client, data.manager, "approvals", **WINDOW)
    assert body["items"] == [
        {
            "actorId": data.manager.token_id,
            "actor": "manager:test",
            "approvals": 4,  # rows 7, 8, 9, 10
            "rejections": 1,  # row 11
            "firstAt": "2025-03-13T12:00:00Z",
            "lastAt": "2025-04-02T12:00:00Z",
            "instances": 5,
        },
        {
            "actorId": data.admin.token_id,
            "actor": "admin:test",
            "approvals": 1,
            "rejections": 0,
            "firstAt": "2025-04-03T12:00:00Z",
            "lastAt": "2025-04-03T12:00:00Z",
            "instances": 1,
        },
    ]
    march = _get(client, data.manager, "approvals", **{"from": "2025-03-01", "to": "2025-03-31"})
    assert [(i["actor"], i["approvals"], i["rejections"]) for i in march["items"]] == [
        ("manager:test", 4, 0)
    ]
    own = _get(client, data.s1, "approvals", **WINDOW)["items"]
    assert [(i["actor"], i["approvals"], i["rejections"], i["instances"]) for i in own] == [
        ("manager:test", 2, 1, 3),  # rows 7, 8 and 11 (s1's instances)
        ("admin:test", 1, 0, 1),
    ]


# 4. Approved while a prerequisite was open ---------------------------------------------------


def test_approvals_with_open_prerequisites(client: TestClient, data: Data) -> None:
    items = _get(client, data.manager, "approved-with-open-prerequisites")["items"]
    found = [
        (i["approvalId"], i["taskInstanceId"], i["prerequisiteId"], i["prerequisiteStatus"])
        for i in items
    ]
    assert found == [
        (data.history[7], data.instances["i2"], data.instances["i1"], "SUBMITTED"),
        (data.history[9], data.instances["j2"], data.instances["j1"], "IN_PROGRESS"),
    ]
    assert (items[0]["source"], items[0]["milestone"], items[0]["prerequisiteMilestone"]) == (
        "IMPORT",
        "M-m2",
        "M-m1",
    )
    assert items[0]["approvedAt"] == "2025-03-13T12:00:00Z"
    assert items[1]["supplierCode"] == "C-s2"
    own = _get(client, data.s2, "approved-with-open-prerequisites")["items"]
    assert [i["approvalId"] for i in own] == [data.history[9]]
    paged = _get(client, data.manager, "approved-with-open-prerequisites", limit=1)
    assert [i["approvalId"] for i in paged["items"]] == [data.history[7]]
    rest = _get(
        client,
        data.manager,
        "approved-with-open-prerequisites",
        limit=1,
        cursor=paged["nextCursor"],
    )
    assert [i["approvalId"] for i in rest["items"]] == [data.history[9]]
    assert rest["nextCursor"] is None


# 5. Supplier access ----------------------------------------------------------------------


def test_supplier_access_per_period(client: TestClient, data: Data) -> None:
    s1, s2 = data.suppliers["s1"].id, data.suppliers["s2"].id
    months = _get(client, data.manager, "supplier-access", period="month", **WINDOW)["items"]
    assert [
        (i["periodStart"], i["supplierId"], i["requests"], i["tokens"], i["refused"])
        for i in months
    ] == [
        ("2025-03-01", s1, 3, 2, 1),
        ("2025-03-01", s2, 1, 1, 0),
        ("2025-04-01", s1, 1, 1, 1),
    ]
    assert (months[0]["firstAt"], months[0]["lastAt"]) == (
        "2025-03-03T08:00:00Z",
        "2025-03-05T12:00:00Z",
    )
    assert months[0]["supplierCode"] == "C-s1"
    days = _get(client, data.manager, "supplier-access", period="day", supplierId=s1, **WINDOW)
    assert [(i["periodStart"], i["requests"]) for i in days["items"]] == [
        ("2025-03-03", 2),
        ("2025-03-05", 1),
        ("2025-04-01", 1),
    ]


def test_supplier_reads_its_own_access_only(client: TestClient, data: Data) -> None:
    own = _get(client, data.s1, "supplier-access", period="week", **WINDOW)["items"]
    assert [(i["periodStart"], i["supplierId"], i["requests"]) for i in own] == [
        ("2025-03-03", data.suppliers["s1"].id, 3),
        ("2025-03-31", data.suppliers["s1"].id, 1),
    ]
    other = client.get(
        f"{BASE}/supplier-access",
        params={"supplierId": data.suppliers["s2"].id, **WINDOW},
        headers=data.s1.headers,
    )
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"


# 6. Overdue aging -----------------------------------------------------------------------


def test_overdue_aging_buckets(client: TestClient, data: Data) -> None:
    items = _get(client, data.manager, "overdue-aging", projectId=data.project.id)["items"]
    assert [
        (
            i["supplierCode"],
            i["days1To7"],
            i["days8To30"],
            i["days31To90"],
            i["daysOver90"],
            i["total"],
            i["oldestDays"],
        )
        for i in items
    ] == [("C-s1", 2, 1, 1, 1, 5, 91), ("C-s2", 0, 1, 1, 0, 2, 31)]
    assert items[0]["oldestDue"] == (today() - timedelta(days=91)).isoformat()
    own = _get(client, data.s2, "overdue-aging")["items"]
    assert [(i["supplierCode"], i["total"]) for i in own] == [("C-s2", 2)]


# Files and bad input --------------------------------------------------------------------

FILES: dict[str, tuple[list[Any], dict[str, Any], str, Any]] = {
    # route: (columns, query, a column, its value in the first row)
    "changes": (exports.CHANGES, {"period": "month", **WINDOW}, "periodStart", "2025-03-01"),
    "due-date-changes": (exports.DUE_DATE_CHANGES, WINDOW, "flags", "NO_REASON"),
    "approvals": (exports.APPROVALS, WINDOW, "approvals", 4),
    "approved-with-open-prerequisites": (
        exports.APPROVED_WITH_OPEN_PREREQUISITES,
        {},
        "prerequisiteStatus",
        "SUBMITTED",
    ),
    "supplier-access": (exports.SUPPLIER_ACCESS, {"period": "month", **WINDOW}, "requests", 3),
    "overdue-aging": (exports.OVERDUE_AGING, {}, "total", 5),
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("route", list(FILES))
def test_files_carry_the_rows(client: TestClient, data: Data, route: str, kind: str) -> None:
    columns, query, column, value = FILES[route]
    response = client.get(
        f"{BASE}/{route}",
        params={**query, "projectId": data.project.id, "format": kind}
        if route not in ("changes", "supplier-access")
        else {**query, "format": kind},
        headers=data.manager.headers,
    )
    assert response.status_code == 200, response.text
    if kind == "csv":
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        header = list(rows[0])
        cell: Any = rows[0][column]
        assert cell == str(value)
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        values = list(sheet.values)
        header = list(values[0])
        cell = dict(zip(header, values[1], strict=True))[column]
        expected: Any = value
        if isinstance(cell, datetime):
            cell = cell.date().isoformat()
        elif isinstance(cell, date):
            cell = cell.isoformat()
        assert cell == expected
    assert header == [c.header for c in columns]
    assert f"compliance-{route}.{kind}" in response.headers["content-disposition"]


@pytest.mark.parametrize(
    ("route", "params", "status", "code"),
    [
        ("changes", {"from": "2025-04-02", "to": "2025-04-01"}, 422, "INVALID_WINDOW"),
        ("changes", {"period": "year"}, 422, "VALIDATION_ERROR"),
        ("supplier-access", {"period": "fortnight"}, 422, "VALIDATION_ERROR"),
        ("approvals", {"supplierId": "0"}, 422, "VALIDATION_ERROR"),
        ("approvals", {"supplierId": "abc"}, 422, "VALIDATION_ERROR"),
        ("overdue-aging", {"projectId": "999999"}, 404, "NOT_FOUND"),
        ("due-date-changes", {"supplierId": "999999"}, 404, "NOT_FOUND"),
        ("due-date-changes", {"cursor": "not-a-cursor"}, 400, "INVALID_CURSOR"),
        ("changes", {"from": "2025-13-01"}, 422, "VALIDATION_ERROR"),
    ],
)
def test_bad_input_is_a_clear_error(
    client: TestClient, data: Data, route: str, params: dict[str, str], status: int, code: str
) -> None:
    response = client.get(f"{BASE}/{route}", params=params, headers=data.manager.headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]


@pytest.mark.parametrize(
    ("day", "week", "month"),
    [
        ("2025-03-03", "2025-03-03", "2025-03-01"),  # a Monday
        ("2025-03-09", "2025-03-03", "2025-03-01"),  # a Sunday
        ("2025-12-31", "2025-12-29", "2025-12-01"),  # ISO week 1 of 2026 starts 2025-12-29
        ("2024-02-29", "2024-02-26", "2024-02-01"),
    ],
)
def test_period_start_on_this_engine(session: Session, day: str, week: str, month: str) -> None:
    dialect = session.get_bind().dialect.name
    value = day_literal(date.fromisoformat(day), dialect)
    starts = session.execute(
        select(*(period_start(value, period, dialect) for period in ("day", "week", "month")))
    ).one()
    assert [str(start)[:10] for start in starts] == [day, week, month]
