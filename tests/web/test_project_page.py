"""One project: facts, the milestone-by-supplier matrix, suppliers, calendar, scope, exports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from html import unescape

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.errors import NotFound
from supplytrack.core.identity import Actor, Role, system_actor
from supplytrack.reports.service import ReportService
from supplytrack.web.pages import projects
from tests.core.helpers import recording
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory
from tests.web.overview_data import Board, build, day, instance

SignedIn = Callable[[Caller], TestClient]


@pytest.fixture
def board(session: Session) -> Board:
    return build(session)


def words(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def matrix(html: str) -> dict[str, list[str]]:
    """Supplier code -> the words of its cells, from the matrix table."""
    table = re.search(r'<table class="matrix".*?<tbody>(.*?)</tbody>', html, re.S)
    assert table, "no matrix"
    rows = {}
    for row in re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", table.group(0), re.S):
        head, _, rest = row.partition("</th>")
        rows[words(head)] = [words(cell) for cell in re.findall(r"<td>(.*?)</td>", rest, re.S)]
    return rows


def page_of(client: TestClient, board: Board, query: str = "") -> str:
    answer = client.get(f"/projects/{board.projects['A'].id}{query}")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_matrix_says_done_open_late_in_words_and_links_each_instance(
    signed_in: SignedIn, manager: Caller, board: Board
) -> None:
    html = page_of(signed_in(manager), board)
    assert matrix(html) == {
        "W-s1": ["done", "open", "open"],
        "W-s2": ["late", "open", "open"],
        "W-s3 (removed)": ["late", "\u2014 no task", "\u2014 no task"],
    }
    late = board.instances[("s2", "m1")]
    assert f'<a class="badge late" href="/tasks/{late}">late</a>' in html
    done = board.instances[("s1", "m1")]
    assert f'<a class="badge done" href="/tasks/{done}"' in html
    heads = re.findall(r'<th scope="col">(m\d)<br>', html)
    assert heads == ["m1", "m2", "m3"]  # plan order
    totals = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S)
    assert totals
    assert [words(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", totals.group(1), re.S)] == [
        "1 done 1 open 1 late",  # the report's milestone counts: active suppliers only
        "0 done 2 open 0 late",
        "0 done 2 open 0 late",
    ]


def test_the_header_suppliers_and_calendar(
    signed_in: SignedIn, viewer: Caller, board: Board
) -> None:
    html = page_of(signed_in(viewer), board)
    project = board.projects["A"]
    assert "<h1>W-A: Alpha &lt;launch&gt;</h1>" in html
    facts = words(re.search(r'<dl class="facts">(.*?)</dl>', html, re.S).group(1))
    assert facts == (
        f"Status ACTIVE SOP {project.sop_date} Window {project.start_date} to {project.sop_date}"
        " Complete 16.7% of 6 task instances Overdue 1 overdue"
        " Due soon 2 in 7 days, 4 in 14 days Active suppliers 2"
    )
    suppliers = re.search(r'aria-labelledby="suppliers-heading">(.*?)</table>', html, re.S)
    assert words(suppliers.group(1)).endswith(
        "W-s1 Supplier s1 ACTIVE active W-s2 Supplier s2 ACTIVE active"
        " W-s3 Supplier s3 ACTIVE removed"
    )
    assert "Working days</dt><dd>Monday, Tuesday, Wednesday, Thursday, Friday, Saturday" in html
    assert "Plant &lt;shutdown&gt;" in html
    assert day(20).isoformat() in html
    assert "Before the window" not in html
    assert "After SOP" not in html


def test_a_project_without_suppliers_or_calendar(
    signed_in: SignedIn, admin: Caller, board: Board
) -> None:
    html = signed_in(admin).get(f"/projects/{board.projects['B'].id}").text
    assert "No suppliers are assigned." in html
    assert "Monday, Tuesday, Wednesday, Thursday, Friday</dd>" in html
    assert "No holidays in the project's window." in html


def test_a_supplier_sees_only_its_own_row_and_not_others_projects(
    client: TestClient, session: Session, board: Board, signed_in: SignedIn, factory: Factory
) -> None:
    signed_in(board.caller(session, "s1"))
    html = page_of(client, board)
    assert matrix(html) == {"W-s1": ["done", "open", "open"]}
    assert "W-s2" not in html
    assert "Active suppliers</dt><dd>1</dd>" in html
    other = client.get(f"/projects/{board.projects['B'].id}")
    assert other.status_code == 404
    assert "<h1>Not found</h1>" in other.text
    missing = client.get("/projects/999999")
    assert missing.status_code == 404
    assert "<h1>Not found</h1>" in missing.text
    assert client.get(f"/projects/{board.projects['B'].id}?format=csv").status_code == 404
    own = client.get(f"/projects/{board.projects['A'].id}?format=csv")
    rows = list(csv.reader(io.StringIO(own.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["W-s1"]


def test_signed_out_goes_to_sign_in_and_bad_ids_are_pages(
    client: TestClient, signed_in: SignedIn, manager: Caller, board: Board
) -> None:
    away = client.get(f"/projects/{board.projects['A'].id}", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"].startswith("/signin?next=")
    signed_in(manager)
    assert client.get("/projects/0").status_code == 422
    assert client.get("/projects/abc").status_code == 422
    assert client.get(f"/projects/{board.projects['A'].id}?cursor=bad").status_code == 400


def test_pages_of_suppliers(
    signed_in: SignedIn, manager: Caller, board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projects, "PAGE_SIZE", 2)
    client = signed_in(manager)
    first = page_of(client, board)
    assert list(matrix(first)) == ["W-s1", "W-s2"]
    following = re.search(r'<a href="([^"]+)" rel="next">Next</a>', first)
    assert following
    second = client.get(following.group(1)).text
    assert list(matrix(second)) == ["W-s3 (removed)"]
    assert 'rel="next"' not in second


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_matrix_downloads(
    signed_in: SignedIn, manager: Caller, board: Board, session: Session, kind: str
) -> None:
    board.milestones["m3"].name = "=HYPERLINK(1)"
    session.flush()
    answer = signed_in(manager).get(f"/projects/{board.projects['A'].id}", params={"format": kind})
    assert answer.status_code == 200, answer.text
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(answer.content)).active
        rows = [["" if v is None else str(v) for v in row] for row in sheet.values]
    assert rows[0] == [
        "supplierId",
        "supplierCode",
        "supplierName",
        "supplierStatus",
        "assignment",
        "m1",
        "m2",
        "'=HYPERLINK(1)",
    ]
    assert [row[1:] for row in rows[1:]] == [
        ["W-s1", "Supplier s1", "ACTIVE", "ACTIVE", "done", "open", "open"],
        ["W-s2", "Supplier s2", "ACTIVE", "ACTIVE", "late", "open", "open"],
        ["W-s3", "Supplier s3", "ACTIVE", "REMOVED", "late", "", ""],
    ]


def test_the_matrix_costs_the_same_queries_whatever_its_size(
    signed_in: SignedIn, manager: Caller, board: Board, session: Session, database: Database
) -> None:
    database.cache.enabled = False
    client = signed_in(manager)
    with recording(database.engine) as small:
        page_of(client, board)
    project = board.projects["A"]
    for number in range(6):
        supplier = build_supplier(session, number)
        assignment = assign(session, project.id, supplier.id)
        for template in board.milestones.values():
            instance(session, assignment, template, "NOT_STARTED", template.canonical_due)
    with recording(database.engine) as large:
        html = page_of(client, board)
    assert len(matrix(html)) == 9
    assert len(large.data) == len(small.data)


def build_supplier(session: Session, number: int) -> object:
    from supplytrack.suppliers.models import Supplier

    supplier = Supplier(code=f"X-{number}", name=f"Extra {number}", status="ACTIVE")
    session.add(supplier)
    session.flush()
    return supplier


def assign(session: Session, project_id: int, supplier_id: int) -> object:
    from supplytrack.suppliers.models import SupplierProject

    assignment = SupplierProject(supplier_id=supplier_id, project_id=project_id, status="ACTIVE")
    session.add(assignment)
    session.flush()
    return assignment


@pytest.mark.parametrize("who", ["staff", "s1", "s2"])
def test_project_facts_are_project_status_figures(session: Session, board: Board, who: str) -> None:
    actor = system_actor()
    if who != "staff":
        actor = Actor(
            token_id=None, role=Role.SUPPLIER, name=who, supplier_id=board.suppliers[who].id
        )
    service = ReportService(session, actor, "UTC")
    for name in ("A", "B"):
        project_id = board.projects[name].id
        if who != "staff" and name == "B":  # not theirs: a 404 from both
            with pytest.raises(NotFound):
                service.project_facts(project_id)
            with pytest.raises(NotFound):
                service.project_status(project_id, None, None)
            continue
        facts = service.project_facts(project_id)
        [status], _ = service.project_status(project_id, None, None)
        for key in (
            "active_suppliers",
            "instances",
            "percent_complete",
            "overdue",
            "due_next_7_days",
            "due_next_14_days",
        ):
            assert facts[key] == status[key], (name, key)
        assert facts["milestones"] == {
            m["task_template_id"]: {k: m[k] for k in ("done", "open", "late")}
            for m in status["milestones"]
            if m["done"] or m["open"] or m["late"]
        }


def test_a_supplier_gets_no_totals_row(
    client: TestClient, session: Session, board: Board, signed_in: SignedIn
) -> None:
    signed_in(board.caller(session, "s2"))
    html = page_of(client, board)
    assert matrix(html) == {"W-s2": ["late", "open", "open"]}
    assert "<tfoot>" not in html
