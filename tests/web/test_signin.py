"""Sign-in, the session cookie, CSRF and sign-out of the web app."""

from __future__ import annotations

import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from supplytrack.auth.service import digest_of
from supplytrack.core.identity import Role
from supplytrack.core.settings import Settings
from supplytrack.web import session as cookies
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory
from tests.web.conftest import csrf_of, sign_in


def _set_cookie(answer: Any, name: str) -> SimpleCookie:
    headers = [value for key, value in answer.headers.multi_items() if key == "set-cookie"]
    jar: SimpleCookie = SimpleCookie()
    for header in headers:
        if header.startswith(f"{name}="):
            jar.load(header)
    return jar


def _post_token(client: TestClient, token: str, *, next_page: str = "/") -> Any:
    form = client.get("/signin")
    return client.post(
        "/signin",
        data={"token": token, "csrf": csrf_of(form.text), "next": next_page},
        follow_redirects=False,
    )


def test_a_page_without_a_session_sends_to_sign_in_and_comes_back(
    client: TestClient, manager: Caller
) -> None:
    away = client.get("/?status=OPEN", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/signin?next=%2F%3Fstatus%3DOPEN"
    form = client.get(away.headers["location"])
    assert 'name="next" value="/?status=OPEN"' in form.text
    answer = client.post(
        "/signin",
        data={"token": manager.token, "csrf": csrf_of(form.text), "next": "/?status=OPEN"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/?status=OPEN"


def test_the_session_cookie_is_httponly_lax_and_holds_no_token(
    client: TestClient, manager: Caller
) -> None:
    answer = _post_token(client, manager.token)
    jar = _set_cookie(answer, cookies.SESSION_COOKIE)
    morsel = jar[cookies.SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # plain HTTP here (auto)
    assert manager.token not in morsel.value
    assert manager.token not in answer.text


def test_the_cookie_is_secure_over_https_or_when_told(
    tuned: Callable[..., TestClient], session: Session
) -> None:
    caller = make_caller(session, Role.MANAGER)
    over_https = TestClient(
        tuned().app, base_url="https://testserver", raise_server_exceptions=False
    )
    answer = _post_token(over_https, caller.token)
    assert answer.status_code == 303, answer.text
    jar = _set_cookie(answer, cookies.SESSION_COOKIE)
    assert jar[cookies.SESSION_COOKIE]["secure"] is True
    # Behind a proxy that ends TLS the service sees plain HTTP: WEB_COOKIE_SECURE=true.
    for policy, scheme, secure in (
        ("true", "http", True),
        ("false", "https", False),
        ("auto", "http", False),
        ("auto", "https", True),
    ):
        told = Settings(web_cookie_secure=policy)
        assert cookies.secure_cookie(told, scheme) is secure, (policy, scheme)


@pytest.mark.parametrize("token", ["", "st_" + "x" * 43, "not a token", "a" * 5000])
def test_a_wrong_token_is_refused_with_one_message(client: TestClient, token: str) -> None:
    answer = _post_token(client, token)
    assert answer.status_code == 401
    assert "That token was not accepted" in answer.text
    assert cookies.SESSION_COOKIE not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_without_the_form_secret_is_refused(client: TestClient, manager: Caller) -> None:
    client.get("/signin")
    answer = client.post(
        "/signin", data={"token": manager.token, "csrf": "forged"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert cookies.SESSION_COOKIE not in client.cookies


def test_a_form_from_another_origin_is_refused(client: TestClient, manager: Caller) -> None:
    form = client.get("/signin")
    answer = client.post(
        "/signin",
        data={"token": manager.token, "csrf": csrf_of(form.text)},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert cookies.SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_next_never_leads_to_another_site(client: TestClient, manager: Caller, target: str) -> None:
    answer = _post_token(client, manager.token, next_page=target)
    assert answer.headers["location"] == "/"


def test_a_supplier_lands_on_its_portal(
    client: TestClient, session: Session, factory: Factory
) -> None:
    supplier = factory.supplier()
    caller = make_caller(session, Role.SUPPLIER, supplier.id)
    answer = _post_token(client, caller.token, next_page="")
    assert answer.headers["location"] == "/portal"
    assert client.get("/", follow_redirects=False).headers["location"] == "/portal"


def test_sign_out_needs_the_session_secret_and_ends_the_session(
    client: TestClient, manager: Caller
) -> None:
    sign_in(client, manager)
    page = client.get("/")
    assert page.status_code == 200
    refused = client.post("/signout", data={"csrf": "nope"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    out = client.post("/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_token_ends_its_sessions_on_the_next_page(
    client: TestClient, manager: Caller, admin: Caller
) -> None:
    sign_in(client, manager)
    assert client.get("/", follow_redirects=False).status_code == 200
    revoked = client.delete(f"/api/tokens/{manager.token_id}", headers=admin.headers)
    assert revoked.status_code == 200
    away = client.get("/", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"].startswith("/signin")


def test_a_tampered_or_foreign_cookie_is_no_session(client: TestClient, manager: Caller) -> None:
    sign_in(client, manager)
    value = client.cookies[cookies.SESSION_COOKIE]
    payload, signature = value.split(".")
    client.cookies.set(cookies.SESSION_COOKIE, payload + "." + signature[::-1], path="/")
    assert client.get("/", follow_redirects=False).status_code == 303
    other = Settings(web_session_key="another-key-another-key-another-key-00")
    forged = cookies.encode(other, cookies.new_session(digest_of(manager.token), time.time()))
    client.cookies.set(cookies.SESSION_COOKIE, forged, path="/")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sessions_end_when_idle_and_after_their_hours(client: TestClient, manager: Caller) -> None:
    settings: Settings = client.app.state.settings
    with time_machine.travel(time.time(), tick=False) as clock:
        sign_in(client, manager)
        clock.shift(settings.web_session_idle_minutes * 60 - 5)
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 200  # and the idle clock starts again
        assert cookies.SESSION_COOKIE in page.headers.get("set-cookie", "")
        clock.shift(settings.web_session_idle_minutes * 60 - 5)
        assert client.get("/", follow_redirects=False).status_code == 200
        clock.shift(settings.web_session_idle_minutes * 60 + 5)
        assert client.get("/", follow_redirects=False).status_code == 303
        sign_in(client, manager)
        steps = int(settings.web_session_hours * 3600 // (settings.web_session_idle_minutes * 30))
        for _ in range(steps):
            clock.shift(settings.web_session_idle_minutes * 30)
            client.get("/", follow_redirects=False)
        clock.shift(settings.web_session_idle_minutes * 30)
        assert client.get("/", follow_redirects=False).status_code == 303


def test_a_suspended_suppliers_session_is_refused_until_it_is_active_again(
    client: TestClient, session: Session, factory: Factory, manager: Caller
) -> None:
    supplier = factory.supplier()
    caller = make_caller(session, Role.SUPPLIER, supplier.id)
    sign_in(client, caller)
    assert client.get("/", follow_redirects=False).headers["location"] == "/portal"
    url = f"/api/suppliers/{supplier.id}"
    assert client.patch(url, json={"status": "SUSPENDED"}, headers=manager.headers).is_success
    refused = client.get("/", follow_redirects=False)
    assert refused.status_code == 403
    assert "SUPPLIER_NOT_ACTIVE" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert client.patch(url, json={"status": "ACTIVE"}, headers=manager.headers).is_success
    assert client.get("/", follow_redirects=False).headers["location"] == "/portal"
