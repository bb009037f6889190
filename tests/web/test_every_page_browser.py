"""Every page, in Chromium, as each role that may open it: no script or CSP error, an accessible
name on every control and chart, one h1, no page wider than a phone, reachable by keyboard.

The pages' own browser tests (test_*_browser.py) walk what each page does; this one holds every
page to the same rules, so a page added later is held to them too (its path goes in _pages).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer, browser_sign_in

CHECKS = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")
PHONE = {"width": 390, "height": 844}


def _pages(server: LiveServer, role: str) -> list[str]:
    """The pages this role opens, with ids of the demo data it can see."""
    own = server.supplier_ids["supplier"]
    asker = "supplier" if role == "supplier" else "admin"
    instance = server.api("/api/task-instances", asker, limit=1)["items"][0]
    project = instance["projectId"]
    common = ["/tasks", "/tasks?overdue=true", f"/tasks/{instance['id']}", f"/projects/{project}"]
    if role == "supplier":
        return ["/portal", f"/suppliers/{own}", *common]
    pages = ["/", "/suppliers", f"/suppliers/{own}", "/tasks?asOf=2026-01-31", *common]
    if role in {"admin", "manager"}:
        pages.append("/bulk")
    if role == "admin":
        pages.append("/operations")
    return pages


@pytest.mark.parametrize("role", ["admin", "manager", "viewer", "supplier"])
def test_every_page_keeps_the_rules(live_server: LiveServer, page: Any, role: str) -> None:
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server, role)
    for path in _pages(live_server, role):
        for size in (None, PHONE):
            if size is not None:
                page.set_viewport_size(size)
            answer = page.goto(live_server.base + path)
            assert answer is not None, (role, path)
            assert answer.status == 200, (role, path)
            problems = page.evaluate(CHECKS)
            assert problems == [], (role, path, problems)
            if size is not None:
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= PHONE["width"] + 1, (role, path, f"{wide}px wide on a phone")
                page.set_viewport_size({"width": 1280, "height": 800})
        page.keyboard.press("Tab")
        first = page.evaluate("document.activeElement.textContent.trim()")
        assert first == "Skip to content", (role, path, first)
    assert errors == [], errors
