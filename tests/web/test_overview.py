"""The projects overview at /: figures, at-risk suppliers, charts, paging, gates, exports."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import SupplierProject
from supplytrack.templates.models import TaskTemplate
from supplytrack.web.pages import overview
from tests.core.helpers import recording
from tests.fixtures.auth import Caller
from tests.web.overview_data import Board, build, day, instance

SignedIn = Callable[[Caller], TestClient]


@pytest.fixture
def board(session: Session) -> Board:
    return build(session)


def row_of(html: str, code: str) -> str:
    """The table row of one project."""
    pattern = r'<tr[^>]*>\s*<th scope="row"><a href="/projects/\d+">' + re.escape(code)
    found = re.search(pattern + r"</a>.*?</tr>", html, re.S)
    assert found, code
    return found.group(0)


def words(markup: str) -> str:
    """The text of some HTML, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def cells(row: str) -> list[str]:
    """The text of each <td> of a row."""
    return [words(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_a_manager_sees_every_project_with_its_figures(
    signed_in: SignedIn, manager: Caller, board: Board
) -> None:
    page = signed_in(manager).get("/")
    assert page.status_code == 200, page.text
    html = page.text
    alpha = row_of(html, "W-A")
    assert f'href="/projects/{board.projects["A"].id}"' in alpha
    assert "Alpha &lt;launch&gt;" in alpha  # escaped
    status, sop, complete, late, due7, due14, risk = cells(alpha)
    assert status == "ACTIVE"
    assert sop == board.projects["A"].sop_date.isoformat()
    assert complete.startswith("16.7%")
    assert (late, due7, due14) == ("1 overdue", "2", "4")
    assert risk == "at risk W-s2 : 1 overdue, worst 10 days"
    assert f'href="/suppliers/{board.suppliers["s2"].id}"' in alpha
    assert 'class="overdue"' in alpha
    beta = cells(row_of(html, "W-B"))
    assert beta[2:7] == ["0.0%", "0", "0", "0", "none"]
    # the cards: totals of the page
    assert re.search(r'<div class="big">6</div>task instances', html)
    assert re.search(r'<div class="big">1</div>overdue', html)


def test_the_charts_are_svg_with_the_figures_in_words(
    signed_in: SignedIn, viewer: Caller, board: Board
) -> None:
    html = signed_in(viewer).get("/").text
    charts = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(charts) == 2
    stacked, overdue_bars = (ET.fromstring(chart) for chart in charts)
    ns = "{http://www.w3.org/2000/svg}"
    words = ["".join(node.itertext()) for node in stacked.iter(ns + "text")]
    assert words[:4] == ["Not started", "In progress", "Submitted", "Approved"]  # the legend
    assert "Not started 2 \u00b7 In progress 2 \u00b7 Submitted 1 \u00b7 Approved 1" in words
    bars = ["".join(node.itertext()) for node in overdue_bars.iter(ns + "text")]
    assert bars == ["W-A", "1", "W-B", "0"]
    assert stacked.findtext(ns + "title") == "Task instances by status, per project"
    assert "style=" not in html


def test_pages_of_projects_follow_a_next_link(
    signed_in: SignedIn, manager: Caller, board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "PAGE_SIZE", 1)
    client = signed_in(manager)
    first = client.get("/").text
    assert "W-A" in first
    assert "W-B" not in first
    following = re.search(r'<a href="([^"]+)" rel="next">Next</a>', first)
    assert following
    second = client.get(following.group(1).replace("&amp;", "&")).text
    assert "W-B" in second
    assert 'rel="next"' not in second
    assert '<a href="/">First page</a>' in second


def test_a_supplier_goes_to_its_portal_and_a_stranger_signs_in(
    client: TestClient, session: Session, board: Board, signed_in: SignedIn
) -> None:
    away = client.get("/", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"].startswith("/signin")
    signed_in(board.caller(session, "s1"))
    portal = client.get("/", follow_redirects=False)
    assert (portal.status_code, portal.headers["location"]) == (303, "/portal")
    assert client.get("/?format=csv", follow_redirects=False).headers["location"] == "/portal"


def test_bad_query_values_are_error_pages(
    signed_in: SignedIn, manager: Caller, board: Board
) -> None:
    client = signed_in(manager)
    bad_cursor = client.get("/?cursor=nonsense")
    assert bad_cursor.status_code == 400
    assert "<h1>" in bad_cursor.text
    assert client.get("/?format=pdf").status_code == 422


def _api_rows(client: TestClient, caller: Caller, kind: str) -> list[list[str]]:
    answer = client.get(
        "/api/reports/project-status", params={"format": kind}, headers=caller.headers
    )
    assert answer.status_code == 200
    return _rows(answer.content, kind)


def _rows(content: bytes, kind: str) -> list[list[str]]:
    if kind == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(content)).active
    return [["" if v is None else str(v) for v in row] for row in sheet.values]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_download_is_the_project_status_export(
    signed_in: SignedIn, manager: Caller, board: Board, client: TestClient, kind: str
) -> None:
    answer = signed_in(manager).get("/", params={"format": kind})
    assert answer.status_code == 200, answer.text
    assert f'filename="project-status.{kind}"' in answer.headers["content-disposition"]
    rows = _rows(answer.content, kind)
    assert rows[0][:3] == ["projectId", "projectCode", "projectName"]
    milestones = [row for row in rows[1:] if row[1] == "W-A"]
    assert [row[9] for row in milestones] == ["m1", "m2", "m3"]
    assert milestones[0][11:14] in (["1", "1", "1"], ["1.0", "1.0", "1.0"])
    assert rows == _api_rows(client, manager, kind)


def test_the_page_links_its_downloads_and_its_stylesheet(
    signed_in: SignedIn, manager: Caller, board: Board
) -> None:
    html = signed_in(manager).get("/").text
    assert 'href="/?format=csv"' in html
    assert 'href="/?format=xlsx"' in html
    assert "/static/web/insights.css" in html


def test_only_the_worst_suppliers_at_risk_are_listed(
    signed_in: SignedIn, manager: Caller, board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "AT_RISK_LISTED", 0)
    alpha = row_of(signed_in(manager).get("/").text, "W-A")
    assert "W-s2" not in alpha
    project = board.projects["A"].id
    assert (
        f'<a href="/projects/{project}" aria-label="1 more suppliers at risk on W-A">1 more</a>'
        in alpha
    )


def test_the_overview_sends_the_same_queries_whatever_the_number_of_projects(
    signed_in: SignedIn, manager: Caller, board: Board, session: Session, database: Database
) -> None:
    database.cache.enabled = False
    client = signed_in(manager)
    with recording(database.engine) as before:
        assert client.get("/").status_code == 200
    for number in range(4):
        project = Project(code=f"W-X{number}", name="More", status="ACTIVE")
        session.add(project)
        session.flush()
        assignment = SupplierProject(supplier_id=board.suppliers["s1"].id, project_id=project.id)
        session.add(assignment)
        session.flush()
        template = TaskTemplate(project_id=project.id, name="m", canonical_due=day(-1))
        session.add(template)
        session.flush()
        instance(session, assignment, template, "IN_PROGRESS", day(-1))
    with recording(database.engine) as after:
        html = client.get("/").text
    assert "W-X3" in html
    assert len(after.data) == len(before.data)
