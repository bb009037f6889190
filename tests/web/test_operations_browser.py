"""The operations page in Chromium: its figures, its charts, and running the data checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import LiveServer, browser_sign_in

DONE_WITHIN_MS = 60_000
CHECKS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")


def test_an_admin_reads_the_operations_page_and_runs_the_data_checks(
    live_server: LiveServer, page: Any, screenshot: Any
) -> None:
    browser_sign_in(page, live_server, "admin")
    live_server.api("/api/projects", "admin")  # a request of the API to count
    page.get_by_role("link", name="Operations").click()
    expect(page.get_by_role("heading", name="Operations", level=1)).to_be_visible()
    for section in ("Requests per route", "Database", "Jobs", "Cache", "Data checks"):
        expect(page.get_by_role("heading", name=section, level=2)).to_be_visible()
    requests = page.get_by_role("table", name="Requests per route")
    expect(requests.get_by_role("row", name=re.compile(r"GET \/api\/projects \d"))).to_be_visible()
    expect(page.get_by_role("img", name="p99 per route, at most (bucket bound)")).to_be_visible()
    expect(page.get_by_role("img", name="Jobs by state")).to_be_visible()
    expect(page.get_by_role("table", name="Jobs by state")).to_contain_text("SUCCEEDED")

    page.get_by_role("button", name="Run the data checks now").click()
    page.wait_for_url(re.compile(r"/operations\?notice=checks"))
    expect(page.get_by_role("status")).to_contain_text("The data checks are running")
    expect(page.get_by_text(re.compile(r"Latest run: job \d+ \(WEB\)"))).to_be_visible(
        timeout=DONE_WITHIN_MS
    )
    expect(page.get_by_role("table", name="Data checks of the latest run")).to_contain_text(
        "status_matches_history"
    )
    assert page.evaluate(CHECKS) == []  # tests/web/a11y.js: names, one h1, unique ids
    screenshot(page, "operations")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_role("heading", name="Operations", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 391  # tables scroll inside
    screenshot(page, "operations-phone")


def test_a_manager_cannot_open_the_operations_page(live_server: LiveServer, page: Any) -> None:
    browser_sign_in(page, live_server, "manager")
    expect(page.get_by_role("link", name="Operations")).to_have_count(0)
    page.goto(live_server.base + "/operations")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
