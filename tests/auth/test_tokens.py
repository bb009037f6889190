"""Tokens: digests only, shown once, admin-only API, revocation, and the CLI."""

import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from supplytrack.auth.models import ApiToken
from supplytrack.cli import app as cli
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.settings import get_settings
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory


def test_token_is_shown_once_and_stored_as_digest(
    client: TestClient, admin: Caller, session: Session, factory: Factory
) -> None:
    supplier = factory.supplier()
    created = client.post(
        "/api/tokens",
        json={"name": "portal", "role": "supplier", "supplierId": supplier.id},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    raw = created.json()["token"]
    row = session.scalars(select(ApiToken).where(ApiToken.name == "portal")).one()
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    dump = " ".join(str(value) for value in session.execute(text("SELECT * FROM api_tokens")).all())
    assert raw not in dump
    listed = client.get("/api/tokens", headers=admin.headers)
    assert raw not in listed.text
    assert "token" not in listed.json()["items"][0]
    me = client.get(f"/api/suppliers/{supplier.id}", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200


def test_supplier_id_goes_with_supplier_role(client: TestClient, admin: Caller) -> None:
    without = client.post(
        "/api/tokens", json={"name": "x", "role": "supplier"}, headers=admin.headers
    )
    assert without.status_code == 422
    stray = client.post(
        "/api/tokens", json={"name": "x", "role": "viewer", "supplierId": 1}, headers=admin.headers
    )
    assert stray.status_code == 422
    unknown = client.post(
        "/api/tokens",
        json={"name": "x", "role": "supplier", "supplierId": 999999},
        headers=admin.headers,
    )
    assert unknown.status_code == 404


def test_revoked_and_unknown_tokens_are_401(
    client: TestClient, admin: Caller, manager: Caller
) -> None:
    assert client.get("/api/projects", headers=manager.headers).status_code == 200
    assert (
        client.delete(f"/api/tokens/{manager.token_id}", headers=admin.headers).status_code == 200
    )
    revoked = client.get("/api/projects", headers=manager.headers)
    assert revoked.status_code == 401
    assert revoked.headers["WWW-Authenticate"] == "Bearer"
    unknown = client.get("/api/projects", headers={"Authorization": "Bearer st_nope"})
    assert unknown.json() == {
        **revoked.json(),
        "error": {**revoked.json()["error"], "requestId": unknown.json()["error"]["requestId"]},
    }
    for header in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        assert client.get("/api/projects", headers=header).status_code == 401


def test_only_admins_manage_tokens(client: TestClient, manager: Caller, viewer: Caller) -> None:
    for caller in (manager, viewer):
        assert client.get("/api/tokens", headers=caller.headers).status_code == 403
        assert (
            client.post(
                "/api/tokens", json={"name": "x", "role": "admin"}, headers=caller.headers
            ).status_code
            == 403
        )


@pytest.fixture
def runner(committed_database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI on a committed database of the test's own."""
    monkeypatch.setenv("DATABASE_URL", committed_database.url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_create_list_revoke(committed_database: Database, runner: CliRunner) -> None:
    created = runner.invoke(cli, ["tokens", "create", "--role", "manager", "--name", "ops"])
    assert created.exit_code == 0, created.output
    raw = created.output.strip().splitlines()[-1]
    assert raw.startswith("st_")
    listed = runner.invoke(cli, ["tokens", "list"])
    assert "ops" in listed.output
    assert raw not in listed.output
    with committed_database.session_scope() as session:
        token_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "ops")).one()
    assert runner.invoke(cli, ["tokens", "revoke", str(token_id)]).exit_code == 0
    assert "ops" not in runner.invoke(cli, ["tokens", "list"]).output
    bad = runner.invoke(cli, ["tokens", "create", "--role", "supplier"])
    assert bad.exit_code == 2


def test_cli_token_list_fits_80_columns_with_whole_dates(runner: CliRunner) -> None:
    name = "ERP integration of the stamping plant, night shift"
    for role in ("manager", "viewer"):
        made = runner.invoke(cli, ["tokens", "create", "--role", role, "--name", name])
        assert made.exit_code == 0, made.output
    assert runner.invoke(cli, ["tokens", "revoke", "2"]).exit_code == 0
    for flags in ([], ["--include-revoked"]):
        listed = runner.invoke(cli, ["tokens", "list", *flags], env={"COLUMNS": "80"})
        assert listed.exit_code == 0, listed.output
        lines = listed.output.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= 80, listed.output
        # Created (and revoked) instants are whole: YYYY-MM-DD HH:MM, never cut with "...".
        stamps = re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", listed.output)
        assert len(stamps) == (3 if flags else 1), listed.output
        assert "…" not in listed.output
        assert "ERP" in listed.output
        assert "shift" in listed.output


@pytest.mark.parametrize("status", ["SUSPENDED", "INACTIVE"])
def test_a_suspended_or_inactive_suppliers_tokens_are_refused_everywhere(
    client: TestClient, session: Session, factory: Factory, manager: Caller, status: str
) -> None:
    """On the fast paths and the FastAPI routes alike, reads and writes; ACTIVE again: let in."""
    project = factory.project()
    factory.template(project, name="PPAP")
    supplier = factory.supplier()
    factory.assign(project, supplier)
    caller = make_caller(session, Role.SUPPLIER, supplier.id)
    instance = client.get("/api/task-instances", headers=caller.headers).json()["items"][0]
    url = f"/api/suppliers/{supplier.id}"
    moved = client.patch(url, json={"status": status}, headers=manager.headers)
    assert moved.status_code == 200, moved.text

    for method, path, body in (
        ("GET", "/api/task-instances", None),  # fast path
        ("GET", f"/api/task-instances/{instance['id']}", None),  # fast path
        ("PATCH", f"/api/task-instances/{instance['id']}", {"notes": "still here?"}),
        ("GET", "/api/projects", None),
        ("GET", "/api/reports/supplier-performance", None),
    ):
        refused = client.request(method, path, json=body, headers=caller.headers)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["code"] == "SUPPLIER_NOT_ACTIVE"
        assert refused.json()["error"]["details"] == [{"supplierId": supplier.id, "status": status}]
    kept = client.get(f"/api/task-instances/{instance['id']}", headers=manager.headers).json()
    assert kept["notes"] == instance["notes"]  # the PATCH changed nothing

    back = client.patch(url, json={"status": "ACTIVE"}, headers=manager.headers)
    assert back.status_code == 200, back.text
    assert client.get("/api/task-instances", headers=caller.headers).status_code == 200
