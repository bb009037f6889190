"""The supplier portal at /portal: own open tasks, overdue first, forms in place, downloads."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from supplytrack.audit.models import HistoryField
from supplytrack.web.pages import portal
from tests.fixtures.auth import Caller
from tests.fixtures.factories import days
from tests.web.conftest import csrf_of
from tests.web.tasks_data import Plan, build, buttons, history, instance, set_due, snapshot, words

SignedIn = Callable[[Caller], TestClient]


@pytest.fixture
def plan(session: Session) -> Plan:
    built = build(session)
    set_due(session, built.ids["b2"], days(5))  # due within 7 days (before b1's dependent rule)
    return built


def items(html: str) -> list[int]:
    """The task ids of the portal's list, in order."""
    return [int(i) for i in re.findall(r'<li id="task-(\d+)"', html)]


def item(html: str, instance_id: int) -> str:
    """One task of the portal."""
    found = re.search(rf'<li id="task-{instance_id}".*?</li>', html, re.S)
    assert found, instance_id
    return found.group(0)


def test_the_portal_lists_own_open_tasks_overdue_first_with_counts(
    signed_in: SignedIn, plan: Plan
) -> None:
    page = signed_in(plan.supplier_b).get("/portal")
    assert page.status_code == 200
    b1, b2 = plan.ids["b1"], plan.ids["b2"]
    assert items(page.text) == [b1, b2]  # b1 is 3 days late, b2 due in 5 days
    counts = words(page.text.split('class="cards portal-counts"', 1)[1].split("</div>\n</div>")[0])
    assert "1 overdue" in counts
    assert "1 due in the next 7 days" in counts
    late = item(page.text, b1)
    assert 'class="portal-item overdue"' in late
    assert '<span class="badge late">Overdue</span>' in late
    assert "overdue" not in item(page.text, b2).split(">", 1)[0]
    # Each task has its own forms, posting to the instance with back=/portal.
    assert buttons(late, f"/tasks/{b1}/status") == ["IN_PROGRESS", "BLOCKED"]
    assert '<input type="hidden" name="back" value="/portal">' in late
    assert f'action="/tasks/{b1}/notes"' in late
    assert (
        f'<label for="notes-{b1}">Notes<span class="visually-hidden"> for task {b1}</span>' in late
    )


def test_done_tasks_leave_the_portal(signed_in: SignedIn, manager: Caller, plan: Plan) -> None:
    client = signed_in(manager)
    b1 = plan.ids["b1"]
    csrf = csrf_of(client.get(f"/tasks/{b1}").text)
    waived = client.post(
        f"/tasks/{b1}/status",
        data={"csrf": csrf, "version": "1", "status": "WAIVED", "reason": "not needed"},
    )
    assert waived.status_code == 200
    page = signed_in(plan.supplier_b).get("/portal")
    assert items(page.text) == [plan.ids["b2"]]
    assert "0 overdue" in words(page.text)


def test_a_status_move_and_a_note_from_the_portal_return_to_it(
    signed_in: SignedIn, plan: Plan, session: Session
) -> None:
    client = signed_in(plan.supplier_b)
    b1 = plan.ids["b1"]
    page = client.get("/portal")
    csrf = csrf_of(page.text)
    moved = client.post(
        f"/tasks/{b1}/status",
        data={"csrf": csrf, "version": "1", "status": "IN_PROGRESS", "back": "/portal"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/portal?notice=status#task-{b1}"
    noted = client.post(
        f"/tasks/{b1}/notes",
        data={"csrf": csrf, "version": "2", "notes": "tooling arrives Monday", "back": "/portal"},
        follow_redirects=False,
    )
    assert noted.headers["location"] == f"/portal?notice=notes#task-{b1}"
    after = client.get(noted.headers["location"])
    assert "The notes were saved." in after.text
    assert "tooling arrives Monday" in item(after.text, b1)
    assert [(r.field, r.actor_id) for r in history(session, b1)] == [
        (HistoryField.STATUS, plan.supplier_b.token_id),
        (HistoryField.NOTES, plan.supplier_b.token_id),
    ]
    assert instance(session, b1).version == 3


def test_a_supplier_posting_to_another_suppliers_task_gets_404(
    signed_in: SignedIn, plan: Plan, session: Session
) -> None:
    client = signed_in(plan.supplier_b)
    csrf = csrf_of(client.get("/portal").text)
    before = snapshot(session)
    answer = client.post(
        f"/tasks/{plan.ids['a1']}/status",
        data={"csrf": csrf, "version": "1", "status": "IN_PROGRESS", "back": "/portal"},
        follow_redirects=False,
    )
    assert answer.status_code == 404
    assert snapshot(session) == before


def test_staff_are_sent_to_the_task_list(signed_in: SignedIn, manager: Caller) -> None:
    answer = signed_in(manager).get("/portal", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/tasks"


def test_the_portal_pages_by_50(
    signed_in: SignedIn, plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal, "PAGE_SIZE", 1)
    client = signed_in(plan.supplier_b)
    first = client.get("/portal")
    assert items(first.text) == [plan.ids["b1"]]
    link = re.search(r'<a href="(/portal\?cursor=[^"]+)" rel="next">', first.text)
    assert link
    second = client.get(link.group(1))
    assert items(second.text) == [plan.ids["b2"]]
    assert 'rel="next"' not in second.text
    assert client.get("/portal?cursor=nonsense").status_code == 400


def test_the_portal_downloads_the_same_tasks(signed_in: SignedIn, plan: Plan) -> None:
    client = signed_in(plan.supplier_b)
    answer = client.get("/portal?format=csv")
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(int(r["id"]), r["overdue"]) for r in rows] == [
        (plan.ids["b1"], "TRUE"),
        (plan.ids["b2"], "FALSE"),
    ]
    assert {r["supplierCode"] for r in rows} == {"SUP-B"}
    workbook = client.get("/portal?format=xlsx")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        plan.ids["b1"],
        plan.ids["b2"],
    ]
