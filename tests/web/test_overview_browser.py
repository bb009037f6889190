"""The overview, a project, the scorecards, in Chromium: a manager walks them, a supplier is
kept to its own; screenshots of each page at desktop and phone size.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.web.conftest import LiveServer, browser_sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def both_sizes(page: Any, screenshot: Any, name: str) -> None:
    """A screenshot at the desktop size, then at a phone's (and back)."""
    screenshot(page, name)
    page.set_viewport_size(PHONE)
    expect(page.locator("h1")).to_be_visible()
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_a_manager_walks_projects_a_matrix_and_scorecards(
    live_server: LiveServer, page: Any, screenshot: Any
) -> None:
    page.set_viewport_size(DESKTOP)
    browser_sign_in(page, live_server, "manager")
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    table = page.get_by_role("table", name="Status of each project")
    expect(table).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Task instances by status"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Overdue task instances"))).to_be_visible()
    both_sizes(page, screenshot, "overview")

    project = live_server.api("/api/projects", "manager", limit=1)["items"][0]
    table.get_by_role("link", name=project["code"], exact=True).click()
    page.wait_for_url(f"**/projects/{project['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(project["code"])
    matrix = page.get_by_role("table", name="Milestones by supplier")
    expect(matrix).to_be_visible()
    cell = matrix.get_by_role("link", name=re.compile(r"^(done|open|late)$")).first
    expect(cell).to_have_attribute("href", re.compile(r"^/tasks/\d+$"))
    expect(page.get_by_role("heading", name="Working calendar")).to_be_visible()
    both_sizes(page, screenshot, "project")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Suppliers").click()
    page.wait_for_url("**/suppliers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supplier scorecards")
    expect(page.get_by_label("Due from")).to_be_visible()
    expect(page.get_by_label("Project")).to_be_visible()
    both_sizes(page, screenshot, "suppliers")

    sort = page.get_by_role("link", name="On-time rate")  # from the keyboard
    sort.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"sort=-onTimeRate"))
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("On-time rate")

    first = page.locator("table tbody th a").first
    code = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/suppliers/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    expect(page.get_by_role("img", name=re.compile("On-time rate per month"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Score per month"))).to_be_visible()
    expect(page.get_by_role("table", name="Monthly trend").locator("tbody tr")).to_have_count(12)
    both_sizes(page, screenshot, "scorecard")


def _project_without(server: LiveServer, supplier: str) -> int:
    """A project the supplier is not on (one made for the test when every one has it)."""
    mine = {p["id"] for p in server.api("/api/projects", supplier, limit=500)["items"]}
    every = server.api("/api/projects", "admin", limit=500)["items"]
    others = [p["id"] for p in every if p["id"] not in mine]
    if others:
        return others[0]
    made = httpx.post(
        server.base + "/api/projects",
        json={"code": "WEB-NOT-YOURS", "name": "Not the supplier's", "status": "PLANNING"},
        headers={"Authorization": f"Bearer {server.tokens['admin']}"},
        timeout=10,
    )
    made.raise_for_status()
    return int(made.json()["id"])


def test_a_supplier_sees_its_own_scorecard_and_nothing_of_others(
    live_server: LiveServer, page: Any, screenshot: Any
) -> None:
    page.set_viewport_size(DESKTOP)
    own = live_server.supplier_ids["supplier"]
    other = live_server.supplier_ids["other_supplier"]
    elsewhere = _project_without(live_server, "supplier")
    browser_sign_in(page, live_server, "supplier")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My scorecard").click()
    page.wait_for_url(f"**/suppliers/{own}")
    expect(page.get_by_role("heading", name="Monthly trend")).to_be_visible()
    both_sizes(page, screenshot, "scorecard-supplier")

    mine = live_server.api("/api/projects", "supplier", limit=1)["items"][0]
    page.goto(f"{live_server.base}/projects/{mine['id']}")
    matrix = page.get_by_role("table", name="Milestones by supplier")
    expect(matrix.locator("tbody tr")).to_have_count(1)  # its own row only
    both_sizes(page, screenshot, "project-supplier")

    for path in (f"/suppliers/{other}", f"/projects/{elsewhere}"):
        answer = page.goto(live_server.base + path)
        assert answer is not None
        assert answer.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    screenshot(page, "not-found-supplier")
    answer = page.goto(live_server.base + "/suppliers")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
