"""The task pages in Chromium: a manager filters, opens an instance, previews and applies a due
move; a supplier works from its portal and cannot open another supplier's instance.

The manager's instance is one of the last supplier of the first project (the bulk test shifts
the last project; nobody else changes this one); the supplier moves one of its own tasks.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from supplytrack.core.time import today
from tests.web.conftest import LiveServer, browser_sign_in

# The rules every page keeps (tests/web/a11y.js): names of controls, one h1, unique ids ...
CHECKS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
WAIT_MS = 10_000


def _shots(page: Any, screenshot: Any, name: str) -> None:
    """One screenshot at the default size and one at a phone's, where the page must fit."""
    assert page.evaluate(CHECKS) == [], name
    screenshot(page, name)
    page.set_viewport_size(PHONE)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"] + 1, f"{name}: {wide}px wide on a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def _instance(server: LiveServer, instance_id: int, role: str = "admin") -> dict[str, Any]:
    found: dict[str, Any] = server.api(f"/api/task-instances/{instance_id}", role)
    return found


def _managers_instance(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    """An open future instance of the last supplier of the first project, and that supplier."""
    project = min(server.api("/api/projects", "manager", limit=50)["items"], key=lambda p: p["id"])
    tomorrow = (today(server.env.get("APP_TIMEZONE", "UTC")) + timedelta(days=1)).isoformat()
    items = server.api(
        "/api/task-instances",
        "manager",
        projectId=project["id"],
        status="NOT_STARTED",
        dueAfter=tomorrow,
        sort="-id",
        limit=500,
    )["items"]
    last = max(item["supplierId"] for item in items)
    mine = [item for item in items if item["supplierId"] == last]
    supplier = server.api(f"/api/suppliers/{last}", "manager")
    return min(mine, key=lambda item: item["id"]), supplier


def test_a_manager_filters_opens_an_instance_and_moves_its_due_date(
    live_server: LiveServer, page: Any, screenshot: Any
) -> None:
    chosen, supplier = _managers_instance(live_server)
    browser_sign_in(page, live_server, "manager")
    page.get_by_role("link", name="Task instances").click()
    expect(page.get_by_role("heading", name="Task instances", level=1)).to_be_visible()

    page.get_by_label("Project").select_option(str(chosen["projectId"]))
    page.get_by_label("Supplier code").fill(supplier["code"])
    page.get_by_label("Not started").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"supplier=" + re.escape(supplier["code"])))
    rows = page.locator("table.task-list tbody tr")
    expect(rows.first).to_contain_text(supplier["code"])
    for text in rows.all_inner_texts():
        assert supplier["code"] in text, text
        assert "Not started" in text, text
    page.get_by_role("link", name="Due", exact=True).click()
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Due")
    _shots(page, screenshot, "tasks")
    server_today = today(live_server.env.get("APP_TIMEZONE", "UTC"))
    page.get_by_label("As of (end of day)").fill(server_today.isoformat())
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("note")).to_contain_text("This is the asOf view")
    expect(page.get_by_role("heading", level=1)).to_contain_text("as of")
    _shots(page, screenshot, "tasks-as-of")
    page.get_by_role("link", name="Back to the current plan").click()
    expect(page.get_by_role("note")).to_have_count(0)

    page.get_by_role("link", name=str(chosen["id"]), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"task {chosen['id']}")
    history = page.locator("ol.history > li")
    before = history.count()
    old_due = date.fromisoformat(chosen["actualDue"])
    new_due = (old_due + timedelta(days=3)).isoformat()
    page.get_by_label("New due date").fill(new_due)
    page.get_by_label("Reason code").select_option("TOOLING_DELAY")
    page.get_by_label("Reason for the date change").fill("browser test: press down")
    page.get_by_label("Cascade to this supplier's dependent tasks").check()
    page.get_by_role("button", name="Preview the move").click()

    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Preview: nothing has changed yet")).to_be_visible()
    expect(preview.locator("tbody tr").first).to_contain_text(new_due)
    assert _instance(live_server, chosen["id"])["actualDue"] == chosen["actualDue"]
    _shots(page, screenshot, "instance-preview")

    preview.get_by_role("button", name="Apply the move").click()
    expect(page.get_by_role("status")).to_have_text("The due date was moved.", timeout=WAIT_MS)
    expect(history).to_have_count(before + 1, timeout=WAIT_MS)
    expect(history.first).to_contain_text(f"{chosen['actualDue']} → {new_due}")
    expect(history.first).to_contain_text("Tooling delay")
    assert _instance(live_server, chosen["id"])["actualDue"] == new_due


def test_a_supplier_works_from_its_portal_and_cannot_open_anothers_instance(
    live_server: LiveServer, page: Any, screenshot: Any
) -> None:
    browser_sign_in(page, live_server, "supplier")
    page.goto(live_server.base + "/portal")
    expect(page.get_by_role("heading", name="My tasks", level=1)).to_be_visible()
    expect(page.locator(".portal-counts")).to_contain_text("overdue")
    _shots(page, screenshot, "portal")

    startable = page.locator("li.portal-item").filter(
        has=page.get_by_role("button", name=re.compile(r"^In progress"))
    )
    item = startable.first
    anchor = item.get_attribute("id")
    assert anchor is not None
    task_id = int(anchor.removeprefix("task-"))
    item.get_by_role("button", name=re.compile(r"^In progress")).click()
    expect(page.get_by_role("status")).to_have_text("The status was changed.", timeout=WAIT_MS)
    assert _instance(live_server, task_id, "supplier")["status"] == "IN_PROGRESS"

    note = f"browser note for task {task_id}"
    page.get_by_label(f"Notes for task {task_id}").fill(note)
    page.get_by_role("button", name=f"Save notes (task {task_id})").click()
    expect(page.get_by_role("status")).to_have_text("The notes were saved.", timeout=WAIT_MS)
    expect(page.get_by_label(f"Notes for task {task_id}")).to_have_value(note)
    assert _instance(live_server, task_id, "supplier")["notes"] == note

    page.get_by_role("link", name="All my instances").click()
    expect(page.get_by_role("heading", name="Task instances", level=1)).to_be_visible()
    theirs = live_server.api("/api/task-instances", "other_supplier", limit=1)["items"][0]
    answer = page.goto(f"{live_server.base}/tasks/{theirs['id']}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Not found", level=1)).to_be_visible()
