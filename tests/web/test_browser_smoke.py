"""The browser can sign in and out (the fixtures of every browser test)."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import LiveServer, browser_sign_in


def test_a_manager_signs_in_and_out_in_chromium(
    live_server: LiveServer, page: Any, screenshot: Any
) -> None:
    page.goto(live_server.base + "/")
    assert "/signin" in page.url
    screenshot(page, "signin")
    browser_sign_in(page, live_server, "manager")
    assert page.locator("h1").first.inner_text() == "Projects"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.goto(live_server.base + "/")
    assert "/signin" in page.url
