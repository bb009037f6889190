"""The task list at /tasks: filters, sorting, paging, overdue rows, the asOf view, downloads."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from supplytrack.core.time import today
from supplytrack.web.pages import tasks
from tests.fixtures.auth import Caller
from tests.fixtures.factories import days
from tests.web.conftest import csrf_of
from tests.web.tasks_data import Plan, build, words

SignedIn = Callable[[Caller], TestClient]


@pytest.fixture
def plan(session: Session) -> Plan:
    return build(session)


def listed(html: str) -> list[int]:
    """The instance ids of the list's rows, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [int(i) for i in re.findall(r'<td><a href="/tasks/(\d+)">', body)]


def row_of(html: str, instance_id: int) -> str:
    """One row of the list."""
    pattern = r'<tr[^>]*>\s*<td><a href="/tasks/' + str(instance_id) + r'">.*?</tr>'
    found = re.search(pattern, html, re.S)
    assert found, instance_id
    return found.group(0)


def test_a_manager_sees_every_instance_with_names_and_flags(
    signed_in: SignedIn, manager: Caller, plan: Plan
) -> None:
    page = signed_in(manager).get(f"/tasks?projectId={plan.project.id}")
    assert page.status_code == 200, page.text
    ids = plan.ids
    # The default order is the due date (b1 is overdue: due 3 days ago), then id.
    assert listed(page.text) == [ids["b1"], ids["a1"], ids["a2"], ids["b2"]]
    late = row_of(page.text, ids["b1"])
    assert late.startswith('<tr class="overdue">')
    assert '<span class="badge late">Overdue</span>' in late
    assert words(late).split() == [
        str(ids["b1"]),
        "TP-1",
        "SUP-B",
        "Beta",
        "Plastics",
        "PPAP",
        "&lt;first&gt;",  # escaped
        "Not",
        "started",
        days(-3).isoformat(),
        days(30).isoformat(),
        "Overdue",
    ]
    assert "PPAP &lt;first&gt;" in late
    on_time = row_of(page.text, ids["a1"])
    assert on_time.startswith("<tr>")
    assert "Overdue" not in on_time
    assert '<th scope="col" aria-sort="ascending">' in page.text  # Due, the default sort


def test_filters_are_the_apis(signed_in: SignedIn, manager: Caller, plan: Plan) -> None:
    client = signed_in(manager)
    ids = plan.ids
    project = f"projectId={plan.project.id}"

    def shown(query: str) -> list[int]:
        page = client.get(f"/tasks?{project}&{query}")
        assert page.status_code == 200, page.text
        return listed(page.text)

    assert shown("overdue=1") == [ids["b1"]]
    assert shown("supplier=SUP-A&sort=id") == [ids["a1"], ids["a2"]]
    assert shown(f"dueFrom={days(30)}&dueTo={days(30)}") == [ids["a1"]]  # inclusive
    assert shown(f"dueFrom={days(31)}&sort=-id") == [ids["b2"], ids["a2"]]
    assert shown("status=NOT_STARTED&status=IN_PROGRESS&sort=id") == sorted(ids.values())
    assert shown("status=SUBMITTED") == []
    # Empty controls of the GET form mean "not given".
    assert shown("supplier=&status=&dueFrom=&dueTo=&asOf=&sort=id") == sorted(ids.values())
    unknown = client.get(f"/tasks?{project}&supplier=NOPE")
    assert "No supplier has the code NOPE." in unknown.text
    assert listed(unknown.text) == []


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("projectId=abc", 422),
        ("projectId=0", 422),
        ("dueFrom=2026-02-30", 422),
        ("dueTo=1800-01-01", 422),
        ("status=DONE", 422),
        ("sort=name", 400),
        ("format=pdf", 422),
        ("cursor=bogus", 400),
    ],
)
def test_bad_filters_are_error_pages(
    signed_in: SignedIn, manager: Caller, plan: Plan, query: str, status: int
) -> None:
    page = signed_in(manager).get(f"/tasks?{query}")
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>" in page.text


def test_sorting_by_column_links(signed_in: SignedIn, manager: Caller, plan: Plan) -> None:
    client = signed_in(manager)
    ids = plan.ids
    base = f"/tasks?projectId={plan.project.id}"
    by_supplier = client.get(base + "&sort=supplier")
    assert listed(by_supplier.text) == [ids["a1"], ids["a2"], ids["b1"], ids["b2"]]
    header = re.search(
        r'<th scope="col" aria-sort="ascending">\s*<a href="([^"]+)">Supplier', by_supplier.text
    )
    assert header, "the Supplier header is the sorted one"
    assert "sort=-supplier" in header.group(1)  # its link turns the direction around
    down = client.get(base + "&sort=-supplier")
    assert listed(down.text) == [ids["b2"], ids["b1"], ids["a2"], ids["a1"]]
    assert 'aria-sort="descending"' in down.text
    assert listed(client.get(base + "&sort=-id").text) == sorted(ids.values(), reverse=True)
    assert listed(client.get(base + "&sort=-actualDue").text) == [
        ids["b2"],
        ids["a2"],
        ids["a1"],
        ids["b1"],
    ]
    assert client.get(base + "&sort=status").status_code == 200


@pytest.mark.parametrize("sort", ["actualDue", "-id", "supplier", "-status"])
def test_paging_follows_the_cursor(
    signed_in: SignedIn,
    manager: Caller,
    plan: Plan,
    monkeypatch: pytest.MonkeyPatch,
    sort: str,
) -> None:
    client = signed_in(manager)
    everything = listed(client.get(f"/tasks?projectId={plan.project.id}&sort={sort}").text)
    monkeypatch.setattr(tasks, "PAGE_SIZE", 3)
    first = client.get(f"/tasks?projectId={plan.project.id}&sort={sort}")
    assert listed(first.text) == everything[:3]
    link = re.search(r'<a href="(/tasks\?[^"]+)" rel="next">Next 50</a>', first.text)
    assert link, "a Next link"
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert listed(second.text) == everything[3:]
    assert 'rel="next"' not in second.text
    assert "First page" in second.text


def test_a_supplier_sees_only_its_own_and_no_supplier_filter(
    signed_in: SignedIn, plan: Plan
) -> None:
    client = signed_in(plan.supplier_a)
    page = client.get("/tasks?sort=id")
    assert page.status_code == 200
    assert listed(page.text) == [plan.ids["a1"], plan.ids["a2"]]
    assert 'name="supplier"' not in page.text
    # The other supplier's code in the address changes nothing: the scope is the token's.
    assert listed(client.get("/tasks?sort=id&supplier=SUP-B").text) == [
        plan.ids["a1"],
        plan.ids["a2"],
    ]


def test_the_as_of_view_says_so_and_shows_the_plan_of_that_day(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a1 = plan.ids["a1"]
    page = client.get(f"/tasks/{a1}")
    moved = client.post(
        f"/tasks/{a1}/status",
        data={"csrf": csrf_of(page.text), "version": "1", "status": "IN_PROGRESS"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    now = client.get(f"/tasks?projectId={plan.project.id}&sort=id")
    assert "In progress" in row_of(now.text, a1)
    yesterday = (today() - timedelta(days=1)).isoformat()
    past = client.get(f"/tasks?projectId={plan.project.id}&asOf={yesterday}")
    assert past.status_code == 200, past.text
    assert f"Task instances as of {yesterday}" in past.text
    assert "This is the asOf view" in past.text
    # Instances created today did not exist at the end of yesterday.
    assert listed(past.text) == []
    today_view = client.get(f"/tasks?projectId={plan.project.id}&asOf={today().isoformat()}")
    assert listed(today_view.text) == sorted(plan.ids.values())  # by id
    assert "In progress" in row_of(today_view.text, a1)
    assert "/status" not in today_view.text  # no status forms in the asOf view
    future = client.get(f"/tasks?asOf={(today() + timedelta(days=1)).isoformat()}")
    assert future.status_code == 422
    assert "AS_OF_IN_FUTURE" in future.text


def test_downloads_hold_every_row_of_the_filter(
    signed_in: SignedIn,
    manager: Caller,
    plan: Plan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = signed_in(manager)
    monkeypatch.setattr(tasks, "PAGE_SIZE", 1)  # the page shows one; the file holds all
    query = f"projectId={plan.project.id}&dueFrom={days(25)}&sort=-actualDue"
    page = client.get(f"/tasks?{query}")
    assert "format=csv" in page.text
    assert "format=xlsx" in page.text
    expected = [plan.ids["b2"], plan.ids["a2"], plan.ids["a1"]]
    answer = client.get(f"/tasks?{query}&format=csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [int(row["id"]) for row in rows] == expected
    assert rows[0]["supplierCode"] == "SUP-B"
    assert rows[2]["milestone"] == "PPAP <first>"
    assert rows[2]["actualDue"] == days(30).isoformat()
    assert rows[2]["overdue"] == "FALSE"
    workbook = client.get(f"/tasks?{query}&format=xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "id"
    assert [row[0] for row in values[1:]] == expected
    overdue = client.get(f"/tasks?projectId={plan.project.id}&overdue=1&format=csv")
    overdue_rows = list(csv.DictReader(io.StringIO(overdue.content.decode("utf-8-sig"))))
    assert [(int(r["id"]), r["overdue"]) for r in overdue_rows] == [(plan.ids["b1"], "TRUE")]


def test_a_supplier_downloads_only_its_own(signed_in: SignedIn, plan: Plan) -> None:
    answer = signed_in(plan.supplier_b).get("/tasks?format=csv&sort=id")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [int(row["id"]) for row in rows] == [plan.ids["b1"], plan.ids["b2"]]


def test_the_as_of_download(signed_in: SignedIn, manager: Caller, plan: Plan) -> None:
    answer = signed_in(manager).get(
        f"/tasks?projectId={plan.project.id}&asOf={today().isoformat()}&format=csv"
    )
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [int(row["id"]) for row in rows] == sorted(plan.ids.values())
    assert {row["asOf"] for row in rows} == {today().isoformat()}
    assert rows[0]["projectCode"] == "TP-1"


def test_signed_out_goes_to_sign_in(client: TestClient) -> None:
    answer = client.get("/tasks?overdue=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/signin?next=")
