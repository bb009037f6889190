"""Report figures on a data set where each is known in advance (identical on both engines)."""

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from supplytrack.core.identity import Role
from tests.fixtures.auth import Caller, make_caller
from tests.reports.conftest import Known, day

PERF = "/api/reports/supplier-performance"
STATUS = "/api/reports/project-status"


def _performance(client: TestClient, caller: Caller, known: Known, **query: object) -> dict:
    params = {
        "projectId": known.project.id,
        "from": day(-60).isoformat(),
        "to": day(0).isoformat(),
        **query,
    }
    response = client.get(PERF, params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return {item["supplierCode"]: item for item in response.json()["items"]}


def test_supplier_performance_figures(client: TestClient, viewer: Caller, known: Known) -> None:
    rows = _performance(client, viewer, known)
    assert set(rows) == {"R-s1", "R-s2"}  # s3 has no task due in the window
    s1 = rows["R-s1"]
    assert (s1["tasksDue"], s1["submitted"], s1["approved"]) == (7, 5, 3)
    assert s1["onTimeRate"] == round(2 / 5, 4)  # a, g (23:59:59 on the due day)
    assert s1["firstPassRate"] == round(2 / 3, 4)  # b was rejected twice
    assert (s1["lateSubmissions"], s1["avgDaysLate"], s1["p90DaysLate"]) == (3, 5.3333, 10)
    assert (s1["openOverdue"], s1["daysOverdue"]) == (1, 10)  # d; e is due today
    assert s1["slipsByReason"] == {"TOOLING_DELAY": 1, "UNSPECIFIED": 1}  # c moved earlier
    assert (s1["rating"], s1["score"]) == ("NOT_RATED", None)  # 3 approvals < 5
    s2 = rows["R-s2"]
    assert (s2["tasksDue"], s2["openOverdue"]) == (1, 0)  # removed: not in open counts
    rated = _performance(client, viewer, known, minCompleted=3)["R-s1"]
    # 100 x (0.5 x 2/5 + 0.3 x 2/3 + 0.2 x (1 - 1/7)) = 57.14
    assert (rated["rating"], rated["score"]) == ("RATED", 57)


def test_performance_sorting_paging_and_supplier_scope(
    client: TestClient, viewer: Caller, known: Known, session: Session
) -> None:
    first = client.get(
        PERF,
        params={
            "projectId": known.project.id,
            "from": day(-60).isoformat(),
            "sort": "-tasksDue",
            "limit": 1,
        },
        headers=viewer.headers,
    ).json()
    assert [item["supplierCode"] for item in first["items"]] == ["R-s1"]
    second = client.get(
        PERF,
        params={
            "projectId": known.project.id,
            "from": day(-60).isoformat(),
            "sort": "-tasksDue",
            "limit": 1,
            "cursor": first["nextCursor"],
        },
        headers=viewer.headers,
    ).json()
    assert [item["supplierCode"] for item in second["items"]] == ["R-s2"]
    assert second["nextCursor"] is None
    supplier = make_caller(session, Role.SUPPLIER, known.s2.id)
    own = _performance(client, supplier, known)
    assert set(own) == {"R-s2"}
    assert client.get(PERF, params={"sort": "bogus"}, headers=viewer.headers).status_code == 400
    bad_window = client.get(
        PERF, params={"from": day(0).isoformat(), "to": day(-1).isoformat()}, headers=viewer.headers
    )
    assert bad_window.status_code == 422


def test_project_status_figures(
    client: TestClient, viewer: Caller, known: Known, session: Session
) -> None:
    response = client.get(STATUS, params={"projectId": known.project.id}, headers=viewer.headers)
    assert response.status_code == 200, response.text
    [status] = response.json()["items"]
    assert status["activeSuppliers"] == 2  # s1 and s3; s2 was removed
    assert status["instances"] == 10  # k belongs to the removed assignment
    assert {c["status"]: c["count"] for c in status["byStatus"]} == {
        "APPROVED": 3,
        "IN_PROGRESS": 1,
        "NOT_STARTED": 3,
        "SUBMITTED": 2,
        "WAIVED": 1,
    }
    assert status["percentComplete"] == 40.0
    assert (status["overdue"], status["dueNext7Days"], status["dueNext14Days"]) == (1, 1, 2)
    assert status["suppliersAtRisk"] == [
        {
            "supplierId": known.s1.id,
            "supplierCode": "R-s1",
            "overdue": 1,
            "maxDaysOverdue": 10,
            "pastSop": 1,
        }
    ]
    milestones = {m["name"]: m for m in status["milestones"]}
    assert (milestones["M-d"]["open"], milestones["M-d"]["late"]) == (1, 1)
    assert (milestones["M-a"]["done"], milestones["M-k"]["open"]) == (1, 0)
    supplier = make_caller(session, Role.SUPPLIER, known.s2.id)
    own = client.get(
        STATUS, params={"projectId": known.project.id}, headers=supplier.headers
    ).json()["items"][0]
    assert (own["instances"], own["activeSuppliers"]) == (0, 0)


def test_all_projects_and_empty_ones(
    client: TestClient, viewer: Caller, known: Known, session: Session
) -> None:
    from tests.fixtures.factories import Factory

    empty = Factory(session).project(code="R-EMPTY")
    items = client.get(STATUS, headers=viewer.headers).json()["items"]
    by_code = {item["code"]: item for item in items}
    assert by_code["R-1"]["instances"] == 10
    assert (by_code["R-EMPTY"]["instances"], by_code["R-EMPTY"]["percentComplete"]) == (0, 0.0)
    assert empty.id in {item["projectId"] for item in items}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_exports_carry_the_same_rows(
    client: TestClient, viewer: Caller, known: Known, kind: str
) -> None:
    params = {"projectId": known.project.id, "from": day(-60).isoformat(), "format": kind}
    response = client.get(PERF, params=params, headers=viewer.headers)
    assert response.status_code == 200, response.text
    if kind == "csv":
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        header = list(rows[0])
    else:
        sheet = load_workbook(io.BytesIO(response.content), read_only=False).active
        assert sheet.freeze_panes == "B2"
        values = list(sheet.values)
        header = list(values[0])
        rows = [dict(zip(header, row, strict=True)) for row in values[1:]]
        assert isinstance(rows[0]["tasksDue"], int | float)
    assert header[:3] == ["supplierId", "supplierCode", "supplierName"]
    s1 = next(row for row in rows if row["supplierCode"] == "R-s1")
    assert int(s1["tasksDue"]) == 7
    assert str(s1["slipsByReason"]) == "TOOLING_DELAY=1;UNSPECIFIED=1"


def test_instance_export_streams_visible_rows(
    client: TestClient, viewer: Caller, known: Known, session: Session
) -> None:
    response = client.get(
        "/api/reports/task-instances",
        params={"projectId": known.project.id},
        headers=viewer.headers,
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 11
    overdue = {row["milestone"] for row in rows if row["overdue"] == "TRUE"}
    assert overdue == {"M-d", "M-k"}
    supplier = make_caller(session, Role.SUPPLIER, known.s2.id)
    own = client.get("/api/reports/task-instances", headers=supplier.headers)
    assert [
        r["supplierCode"] for r in csv.DictReader(io.StringIO(own.content.decode("utf-8-sig")))
    ] == ["R-s2"]


def test_instance_csv_cells_match_the_api(client: TestClient, viewer: Caller, known: Known) -> None:
    """The CSV export formats its cells itself (for speed): they must say what the API says."""
    response = client.get(
        "/api/reports/task-instances",
        params={"projectId": known.project.id},
        headers=viewer.headers,
    )
    exported = {
        int(row["id"]): row
        for row in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    }
    listed = client.get(
        "/api/task-instances",
        params={"projectId": known.project.id, "limit": 100},
        headers=viewer.headers,
    ).json()["items"]
    assert set(exported) == {item["id"] for item in listed}
    for item in listed:
        row = exported[item["id"]]
        assert row["status"] == item["status"]
        assert row["actualDue"] == item["actualDue"]
        assert row["overdue"] == ("TRUE" if item["overdue"] else "FALSE")
        assert row["submittedAt"] == (item["submittedAt"] or "")
        assert row["completedAt"] == (item["completedAt"] or "")
    workbook = client.get(
        "/api/reports/task-instances",
        params={"projectId": known.project.id, "format": "xlsx"},
        headers=viewer.headers,
    )
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet.max_row == len(listed) + 1
