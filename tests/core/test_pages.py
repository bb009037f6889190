"""The front page (sign-in), /docs offline, security headers on every answer, /metrics labels."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.auth import Caller
from tests.fixtures.client import from_this_host

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_docs_load_everything_from_the_service_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, "the page references no assets"
    for source in sources:
        assert source.startswith("/"), f"{source} is not served by the service (offline: blank)"
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.content, source
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert (
        "'unsafe-inline'"
        not in page.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["openapi"].startswith("3.")


def test_the_front_page_sends_a_visitor_to_sign_in_which_links_the_docs(
    client: TestClient,
) -> None:
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 303
    assert front.headers["location"].startswith("/signin")
    page = client.get(front.headers["location"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for link in ('href="/docs"', 'href="/readyz"', 'href="/openapi.json"'):
        assert link in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/projects",
        "/api/task-instances?limit=1",  # the fast path
        "/api/task-instances/999999",  # a 404 envelope
        "/api/nowhere",
        "/healthz",
        "/openapi.json",
    ],
)
def test_every_answer_carries_the_security_headers(
    client: TestClient, manager: Caller, path: str
) -> None:
    answer = client.get(path, headers=manager.headers)
    for name, value in SECURITY.items():
        assert answer.headers.get(name) == value, (path, name)
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"


def test_static_assets_may_be_cached(client: TestClient) -> None:
    asset = client.get("/static/swagger/swagger-ui.css")
    assert asset.status_code == 200
    assert asset.headers["cache-control"].startswith("public")
    assert asset.headers["x-content-type-options"] == "nosniff"


def test_pages_and_assets_have_their_own_labels_in_metrics(client: TestClient) -> None:
    client.get("/docs")
    client.get("/openapi.json")
    client.get("/static/swagger/swagger-ui.css")
    text = from_this_host(client).get("/metrics").text
    for route in ("/docs", "/openapi.json", "/static/{file}"):
        assert f'route="{route}"' in text, route
