"""The bulk date shift in Chromium: preview, apply as a job, watch it reach done, undo it.

It shifts the last project of the demo data (no other browser test uses it) and undoes the
shift, so the live server's data is as it was afterwards.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import LiveServer, browser_sign_in

DONE_WITHIN_MS = 60_000
# The rules every page keeps (tests/web/a11y.js): names of controls, one h1, unique ids ...
CHECKS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")
SHIFT = 5
PHONE_WIDTH = 390
# The elements that stick out (for the failure's message).
WIDER_THAN_THE_PHONE = """(limit) => Array.from(document.querySelectorAll("body *"))
  .filter((el) => el.getBoundingClientRect().right > limit)
  .map((el) => el.tagName + " " + (el.textContent || "").trim().slice(0, 40))"""


def _keeps_the_rules(page: Any) -> None:
    assert page.evaluate(CHECKS) == [], page.url


def _fits_a_phone(page: Any) -> None:
    """Nothing wider than the phone: wide tables scroll inside their own box."""
    wider = page.evaluate(WIDER_THAN_THE_PHONE, PHONE_WIDTH + 1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH + 1, wider


def _dues(server: LiveServer, project_id: int) -> dict[int, tuple[date, str]]:
    """Every instance of the project: (actualDue, status), through the API."""
    found: dict[int, tuple[date, str]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"projectId": project_id, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = server.api("/api/task-instances", "admin", **params)
        for item in page["items"]:
            found[item["id"]] = (date.fromisoformat(item["actualDue"]), item["status"])
        cursor = page.get("nextCursor")
        if not cursor:
            return found


def _last_project(server: LiveServer) -> dict[str, Any]:
    projects = server.api("/api/projects", "manager", limit=50)["items"]
    return max(projects, key=lambda p: p["id"])


def test_a_manager_shifts_a_project_as_a_job_watches_it_and_undoes_it(
    live_server: LiveServer, page: Any, screenshot: Any
) -> None:
    project = _last_project(live_server)
    before = _dues(live_server, project["id"])
    browser_sign_in(page, live_server, "manager")

    page.get_by_role("link", name="Bulk shift").click()
    expect(page.get_by_role("heading", name="Bulk date shift", level=1)).to_be_visible()
    page.get_by_label("Project").select_option(str(project["id"]))
    page.get_by_role("button", name="Choose project").click()
    expect(page.get_by_label("Suppliers")).to_be_visible()
    _keeps_the_rules(page)
    screenshot(page, "bulk")
    page.get_by_label("Days (negative: earlier)").fill(str(SHIFT))
    page.get_by_label("Reason code").select_option("PLAN_CHANGE")
    page.get_by_label("Reason (required past the project's SOP)").fill("browser test shift")
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Preview:")
    expect(page.get_by_text("rules broken")).to_be_visible()
    moves = int(page.locator(".card .big").nth(1).inner_text())
    open_before = sum(1 for _due, status in before.values() if status not in ("APPROVED", "WAIVED"))
    assert moves == open_before > 0
    _keeps_the_rules(page)
    screenshot(page, "bulk-preview")
    page.get_by_label(re.compile("Run it as a background job")).check()
    # The page as the server rendered it, before the job moves on: while the screenshot is
    # taken the follower's polls fail (it retries), so the page cannot reload under it.
    polls = re.compile(r"/bulk/operations/\d+/progress$")
    page.route(polls, lambda route: route.abort())
    page.get_by_role("button", name=f"Apply {moves} moves").click()

    page.wait_for_url(re.compile(r"/bulk/operations/\d+\?notice=queued$"))
    operation_url = page.url.split("?")[0]
    progress = page.locator(".bulk-progress").first
    expect(progress.get_by_role("progressbar")).to_be_visible()
    _keeps_the_rules(page)
    screenshot(page, "bulk-operation-running")
    page.unroute(polls)
    expect(progress.locator("[data-progress-state]")).to_have_text("DONE", timeout=DONE_WITHIN_MS)
    expect(progress.locator("[data-progress-label]")).to_have_text(
        f"{moves} of {moves} task instances"
    )
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    _keeps_the_rules(page)
    screenshot(page, "bulk-operation-done")

    after = _dues(live_server, project["id"])
    for instance_id, (due, status) in before.items():
        moved = status not in ("APPROVED", "WAIVED")
        assert after[instance_id][0] == (due + timedelta(days=SHIFT) if moved else due)

    page.get_by_label("Reason for the undo").fill("browser test: put it back")
    page.get_by_role("button", name=re.compile(r"Undo operation \d+")).click()
    page.wait_for_url(re.compile(r"/bulk/operations/\d+\?notice=undone$"))
    expect(page.get_by_role("status")).to_contain_text("The operation was undone")
    states = page.locator("[data-progress-state]")
    expect(states.nth(0)).to_have_text("UNDONE", timeout=DONE_WITHIN_MS)
    expect(states.nth(1)).to_have_text("DONE", timeout=DONE_WITHIN_MS)  # the undo's own
    _keeps_the_rules(page)
    screenshot(page, "bulk-operation-undone")
    assert {i: due for i, (due, _s) in _dues(live_server, project["id"]).items()} == {
        i: due for i, (due, _s) in before.items()
    }

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.goto(operation_url)
    expect(page.get_by_role("heading", name=re.compile(r"Bulk operation \d+"))).to_be_visible()
    _fits_a_phone(page)
    screenshot(page, "bulk-operation-phone")
    page.goto(f"{live_server.base}/bulk?project={project['id']}")
    _fits_a_phone(page)
    screenshot(page, "bulk-phone")
    page.get_by_label("Days (negative: earlier)").fill("2")
    page.get_by_label("Reason code").select_option("PLAN_CHANGE")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Preview:")
    _fits_a_phone(page)
    screenshot(page, "bulk-preview-phone")  # a preview only: nothing applied
    assert {i: due for i, (due, _s) in _dues(live_server, project["id"]).items()} == {
        i: due for i, (due, _s) in before.items()
    }


def test_a_viewer_cannot_open_the_bulk_pages(live_server: LiveServer, page: Any) -> None:
    browser_sign_in(page, live_server, "viewer")
    expect(page.get_by_role("link", name="Bulk shift")).to_have_count(0)
    page.goto(live_server.base + "/bulk")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
