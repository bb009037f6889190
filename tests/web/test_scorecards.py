"""Supplier scorecards: the list (sorting, filters, paging, exports) and one supplier's card
with its monthly trend, whose figures must be supplier_performance's on each month's window.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.identity import Role, system_actor
from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.reports.repository import Window
from supplytrack.reports.service import ReportService
from supplytrack.suppliers.models import Supplier, SupplierProject
from supplytrack.templates.models import TaskTemplate
from supplytrack.web.pages import suppliers as pages
from tests.core.helpers import recording
from tests.fixtures.auth import Caller, make_caller
from tests.web.overview_data import Board, at, build, history, instance

SignedIn = Callable[[Caller], TestClient]
ZONE = "UTC"


def words(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def month_back(months: int, day_of_month: int) -> date:
    """A day ``months`` months before this month."""
    first = today().replace(day=1)
    year, month = divmod(first.year * 12 + first.month - 1 - months, 12)
    return date(year, month + 1, day_of_month)


@dataclass
class Trend:
    """Supplier T-x with a known monthly record, and T-y beside it on the same project."""

    project: Project
    x: Supplier
    y: Supplier
    ids: dict[str, int]


@pytest.fixture
def trend(session: Session) -> Trend:
    """T-x's months (0 = this month):

    - 1 month back: 6 APPROVED due on the 10th, 4 submitted on the 9th and 2 on the 12th, one
      rejected once: on time 4/6, first pass 5/6, no open overdue -> score 78 (rated).
    - 3 months back: 1 SUBMITTED on time, 1 IN_PROGRESS overdue: not rated, on time 1/1.
    - 11 months back (the first month shown): 1 WAIVED: nothing due, not rated.
    - 12 months back (not shown): 1 APPROVED.
    - this month: 1 NOT_STARTED due on the 1st.
    T-y has 6 late APPROVED tasks 1 month back.
    """
    project = Project(code="T-1", name="Trend", status="ACTIVE")
    session.add(project)
    x = Supplier(code="T-x", name="Supplier <x>", status="ACTIVE")
    y = Supplier(code="T-y", name="Supplier y", status="ACTIVE")
    session.add_all([x, y])
    session.flush()
    assignments = {}
    for supplier in (x, y):
        assignment = SupplierProject(supplier_id=supplier.id, project_id=project.id)
        session.add(assignment)
        session.flush()
        assignments[supplier.code] = assignment
    ids: dict[str, int] = {}
    number = 0

    def add(who: str, status: str, due: date, submitted: date | None, done: bool) -> int:
        nonlocal number
        number += 1
        template = TaskTemplate(
            project_id=project.id, name=f"T{number}", canonical_due=due, sequence=number
        )
        session.add(template)
        session.flush()
        return instance(
            session,
            assignments[who],
            template,
            status,
            due,
            at(submitted) if submitted else None,
            at(submitted or due) if done else None,
        )

    last = month_back(1, 10)
    for n in range(6):
        submitted = month_back(1, 9) if n < 4 else month_back(1, 12)
        ids[f"last-{n}"] = add("T-x", "APPROVED", last, submitted, True)
        add("T-y", "APPROVED", last, month_back(1, 15), True)
    history(
        session,
        [
            {
                "task_instance_id": ids["last-0"],
                "field": "STATUS",
                "old_value": "SUBMITTED",
                "new_value": "REJECTED",
            },
            {
                "task_instance_id": ids["last-1"],
                "field": "ACTUAL_DUE",
                "old_value": month_back(1, 5).isoformat(),
                "new_value": last.isoformat(),
                "reason_code": "TOOLING_DELAY",
            },
        ],
    )
    ids["three-submitted"] = add("T-x", "SUBMITTED", month_back(3, 10), month_back(3, 9), False)
    ids["three-overdue"] = add("T-x", "IN_PROGRESS", month_back(3, 10), None, False)
    ids["eleven-waived"] = add("T-x", "WAIVED", month_back(11, 10), None, True)
    ids["twelve"] = add("T-x", "APPROVED", month_back(12, 10), month_back(12, 9), True)
    ids["now"] = add("T-x", "NOT_STARTED", month_back(0, 1), None, False)
    return Trend(project, x, y, ids)


FIELDS = (
    "tasks_due",
    "submitted",
    "approved",
    "on_time_rate",
    "first_pass_rate",
    "late_submissions",
    "avg_days_late",
    "open_overdue",
    "days_overdue",
    "rating",
    "score",
)


def test_the_trend_is_supplier_performance_month_by_month(session: Session, trend: Trend) -> None:
    service = ReportService(session, system_actor(), ZONE)
    months = service.supplier_trend(trend.x.id, None, 5)
    assert len(months) == 12
    assert months[0]["month"] == month_back(11, 1)
    assert months[-1]["month"] == month_back(0, 1)
    assert months[-1]["end"] == today()
    for month in months:
        assert month["start"] == month["month"]
        window = Window(month["start"], month["end"], None, trend.x.id)
        found = service.supplier_performance(window, 5)
        if not found:
            assert (month["tasks_due"], month["submitted"], month["rating"]) == (0, 0, "NOT_RATED")
            continue
        [expected] = found
        assert {k: month[k] for k in FIELDS} == {k: expected[k] for k in FIELDS}, month["month"]
    by_month = {month["month"]: month for month in months}
    last = by_month[month_back(1, 1)]
    assert (last["tasks_due"], last["submitted"], last["approved"]) == (6, 6, 6)
    assert (last["on_time_rate"], last["first_pass_rate"]) == (round(4 / 6, 4), round(5 / 6, 4))
    # 100 x (0.5 x 4/6 + 0.3 x 5/6 + 0.2 x 1) = 78.33
    assert (last["rating"], last["score"]) == ("RATED", 78)
    three = by_month[month_back(3, 1)]
    assert (three["tasks_due"], three["on_time_rate"], three["open_overdue"]) == (2, 1.0, 1)
    assert (three["rating"], three["score"]) == ("NOT_RATED", None)
    eleven = by_month[month_back(11, 1)]
    assert (eleven["tasks_due"], eleven["rating"]) == (0, "NOT_RATED")
    quiet = by_month[month_back(2, 1)]
    assert (quiet["tasks_due"], quiet["on_time_rate"], quiet["score"]) == (0, None, None)


def test_the_trend_of_one_project_only(session: Session, trend: Trend) -> None:
    other = Project(code="T-2", name="Other", status="ACTIVE")
    session.add(other)
    session.flush()
    service = ReportService(session, system_actor(), ZONE)
    assert all(m["tasks_due"] == 0 for m in service.supplier_trend(trend.x.id, other.id, 5))
    mine = service.supplier_trend(trend.x.id, trend.project.id, 5)
    assert sum(m["tasks_due"] for m in mine) == 9


def scorecard_rows(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table aria-describedby="scorecards-caption">.*?</table>', html, re.S)
    assert table
    rows = {}
    for row in re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</tr>", table.group(0), re.S):
        head, _, rest = row.partition("</th>")
        code = words(head).split()[0]
        rows[code] = [words(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", rest, re.S)]
    return rows


def test_the_list_shows_scores_rates_and_not_rated_in_words(
    signed_in: SignedIn, manager: Caller, trend: Trend
) -> None:
    since = month_back(1, 1).isoformat()
    until = (month_back(0, 1) - timedelta(days=1)).isoformat()
    page = signed_in(manager).get("/suppliers", params={"from": since, "to": until})
    assert page.status_code == 200, page.text
    rows = scorecard_rows(page.text)
    # last month alone: T-x as its trend says; T-y 6 late first-pass approvals:
    # 100 x (0.5 x 0 + 0.3 x 1 + 0.2 x 1) = 50
    assert rows["T-x"] == ["78", "66.7%", "83.3%", "0", "6", "TOOLING_DELAY 1"]
    assert rows["T-y"] == ["50", "0.0%", "100.0%", "0", "6", "none"]
    assert "Supplier &lt;x&gt;" in page.text
    assert 'aria-sort="descending"' in page.text
    chart = re.search(r"<svg .*?</svg>", page.text, re.S)
    assert chart
    assert "T-x" in chart.group(0)


def test_not_rated_is_never_a_zero(signed_in: SignedIn, manager: Caller, trend: Trend) -> None:
    since = month_back(3, 1).isoformat()
    until = month_back(3, 28).isoformat()
    page = signed_in(manager).get("/suppliers", params={"from": since, "to": until})
    rows = scorecard_rows(page.text)
    assert rows == {"T-x": ["Not rated", "100.0%", "none", "1 overdue", "2", "none"]}
    assert "1 of the suppliers shown is not rated and not drawn." in page.text
    assert "No data" in page.text  # the score chart has nothing to draw


def test_sorting_links_and_filters(
    signed_in: SignedIn, viewer: Caller, trend: Trend, session: Session
) -> None:
    client = signed_in(viewer)
    since = month_back(1, 1).isoformat()
    base = {"from": since, "projectId": str(trend.project.id)}
    by_score = scorecard_rows(client.get("/suppliers", params=base).text)
    assert list(by_score) == ["T-x", "T-y"]
    page = client.get("/suppliers", params={**base, "sort": "-onTimeRate"}).text
    assert list(scorecard_rows(page)) == ["T-x", "T-y"]
    ascending = client.get("/suppliers", params={**base, "sort": "onTimeRate"}).text
    assert list(scorecard_rows(ascending)) == ["T-y", "T-x"]
    link = re.search(r'aria-sort="ascending"><a class="sort" href="([^"]+)"', ascending)
    assert link
    assert "sort=-onTimeRate" in unescape(link.group(1))
    assert f"projectId={trend.project.id}" in unescape(link.group(1))
    assert f'<option value="{trend.project.id}" selected>' in ascending
    other = Project(code="T-9", name="Empty", status="ACTIVE")
    session.add(other)
    session.flush()
    empty = client.get("/suppliers", params={"projectId": str(other.id)}).text
    assert "No supplier has tasks due in this window." in empty


@pytest.mark.parametrize(
    "query",
    [
        {"from": "yesterday"},
        {"to": "2024-13-01"},
        {"projectId": "abc"},
        {"projectId": "0"},
        {"from": "2025-02-01", "to": "2025-01-01"},
    ],
)
def test_bad_filters_are_422_pages(
    signed_in: SignedIn, manager: Caller, trend: Trend, query: dict[str, str]
) -> None:
    page = signed_in(manager).get("/suppliers", params=query)
    assert page.status_code == 422
    assert "<h1>Please check the form</h1>" in page.text


def test_blank_filters_are_the_default_window(
    signed_in: SignedIn, manager: Caller, trend: Trend
) -> None:
    page = signed_in(manager).get("/suppliers", params={"from": "", "to": "", "projectId": ""})
    assert page.status_code == 200
    year_ago = (today() - timedelta(days=365)).isoformat()
    assert f'name="from" type="date" value="{year_ago}"' in page.text
    assert signed_in(manager).get("/suppliers?sort=bogus").status_code == 400


def test_paging(
    signed_in: SignedIn, manager: Caller, trend: Trend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    client = signed_in(manager)
    first = client.get("/suppliers", params={"from": month_back(1, 1).isoformat()}).text
    assert list(scorecard_rows(first)) == ["T-x"]
    following = re.search(r'<a href="([^"]+)" rel="next">Next</a>', first)
    assert following
    second = client.get(unescape(following.group(1))).text
    assert list(scorecard_rows(second)) == ["T-y"]


def test_suppliers_may_not_open_the_list(
    client: TestClient, session: Session, signed_in: SignedIn, trend: Trend
) -> None:
    signed_in(make_caller(session, Role.SUPPLIER, trend.x.id))
    page = client.get("/suppliers")
    assert page.status_code == 403
    assert "<h1>Not allowed</h1>" in page.text


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_list_downloads_are_the_report_export(
    signed_in: SignedIn, manager: Caller, trend: Trend, client: TestClient, kind: str
) -> None:
    params = {"from": month_back(1, 1).isoformat(), "format": kind}
    answer = signed_in(manager).get("/suppliers", params=params)
    assert answer.status_code == 200
    api = client.get("/api/reports/supplier-performance", params=params, headers=manager.headers)
    if kind == "csv":
        assert answer.content == api.content
        rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert [row["supplierCode"] for row in rows] == ["T-x", "T-y"]
    else:
        mine = list(load_workbook(io.BytesIO(answer.content)).active.values)
        theirs = list(load_workbook(io.BytesIO(api.content)).active.values)
        assert mine == theirs
        assert [row[1] for row in mine[1:]] == ["T-x", "T-y"]


# One supplier's scorecard ------------------------------------------------------------------


def test_one_scorecard_with_its_trend(signed_in: SignedIn, manager: Caller, trend: Trend) -> None:
    page = signed_in(manager).get(f"/suppliers/{trend.x.id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>T-x: Supplier &lt;x&gt;</h1>" in html
    table = re.search(r'<table aria-labelledby="trend-heading">.*?</table>', html, re.S)
    assert table
    months = {}
    for row in re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", table.group(0), re.S):
        head, _, rest = row.partition("</th>")
        months[words(head)] = [words(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rest, re.S)]
    assert len(months) == 12
    assert months[month_back(1, 1).strftime("%b %Y")] == [
        "6",
        "6",
        "66.7%",
        "6",
        "83.3%",
        "0",
        "78",
    ]
    assert months[month_back(3, 1).strftime("%b %Y")][-1] == "not rated"
    assert months[month_back(2, 1).strftime("%b %Y")] == [
        "0",
        "0",
        "none",
        "0",
        "none",
        "0",
        "not rated",
    ]
    charts = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(charts) == 3  # slips, on-time rate, score
    assert "TOOLING_DELAY" in charts[0]
    assert "66.7%" in charts[1]
    assert "1 of 12 months rated" in charts[2]
    assert "Months not rated are gaps." in charts[2]


def test_a_supplier_opens_its_own_scorecard_only(
    client: TestClient, session: Session, signed_in: SignedIn, trend: Trend
) -> None:
    signed_in(make_caller(session, Role.SUPPLIER, trend.x.id))
    own = client.get(f"/suppliers/{trend.x.id}")
    assert own.status_code == 200
    assert "T-y" not in own.text
    other = client.get(f"/suppliers/{trend.y.id}")
    assert other.status_code == 404
    assert "<h1>Not found</h1>" in other.text
    assert client.get(f"/suppliers/{trend.y.id}?format=csv").status_code == 404
    assert client.get("/suppliers/999999").status_code == 404


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_trend_downloads(
    signed_in: SignedIn, manager: Caller, trend: Trend, session: Session, kind: str
) -> None:
    answer = signed_in(manager).get(f"/suppliers/{trend.x.id}", params={"format": kind})
    assert answer.status_code == 200
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    else:
        values = list(load_workbook(io.BytesIO(answer.content)).active.values)
        rows = [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    assert len(rows) == 12
    expected = ReportService(session, system_actor(), ZONE).supplier_trend(trend.x.id, None, 5)
    for row, month in zip(rows, expected, strict=True):
        assert str(row["month"])[:10] == month["month"].isoformat()
        assert int(row["tasksDue"]) == month["tasks_due"]
        assert row["rating"] == month["rating"]
        score = None if row["score"] in (None, "") else int(row["score"])
        assert score == month["score"]


def test_a_scorecard_with_nothing_due(signed_in: SignedIn, viewer: Caller, board: Board) -> None:
    supplier = board.suppliers["s3"]
    page = signed_in(viewer).get(
        f"/suppliers/{supplier.id}", params={"from": "2020-01-01", "to": "2020-12-31"}
    )
    assert page.status_code == 200
    cards = words(re.search(r'<div class="cards figures">(.*?)</div>\s*<dl', page.text, re.S)[1])
    assert cards == (
        "Not rated score none on time (0 submitted) none first pass (0 approved)"
        " 0 open overdue (0 days in all)"
    )


@pytest.fixture
def board(session: Session) -> Board:
    return build(session)


def test_the_trend_is_one_query(session: Session, trend: Trend, database: Database) -> None:
    service = ReportService(session, system_actor(), ZONE)
    with recording(database.engine) as log:
        service.supplier_trend(trend.x.id, None, 5)
    assert len(log.data) == 1
    assert "GROUP BY" in log.data[0]


def test_the_scorecard_sends_the_same_queries_whatever_the_history(
    signed_in: SignedIn, manager: Caller, trend: Trend, session: Session, database: Database
) -> None:
    database.cache.enabled = False
    client = signed_in(manager)
    with recording(database.engine) as before:
        assert client.get(f"/suppliers/{trend.x.id}").status_code == 200
    assignment = session.scalars(
        select(SupplierProject).where(SupplierProject.supplier_id == trend.x.id)
    ).one()
    for number in range(8):
        due = month_back(number % 6, 3)
        template = TaskTemplate(
            project_id=trend.project.id, name=f"More {number}", canonical_due=due, sequence=99
        )
        session.add(template)
        session.flush()
        instance(session, assignment, template, "APPROVED", due, at(due), at(due))
    with recording(database.engine) as after:
        assert client.get(f"/suppliers/{trend.x.id}").status_code == 200
    assert len(after.data) == len(before.data)
