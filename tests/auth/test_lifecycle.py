"""Tokens: a checksummed shape, expiry, rotation with a grace period, the last use."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from supplytrack.auth.models import ApiToken
from supplytrack.auth.service import (
    USAGE,
    UsageClock,
    checksum,
    digest_of,
    misspelt,
    new_token,
)
from supplytrack.cli import app as cli
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.settings import get_settings
from tests.fixtures.auth import Caller

# One route of each path: the fast path (plain list) and FastAPI's (projects).
ROUTES = ("/api/task-instances", "/api/projects")


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _statuses(client: TestClient, token: str) -> list[int]:
    return [client.get(route, headers=_as(token)).status_code for route in ROUTES]


def test_a_new_token_carries_a_checksum_a_scanner_can_verify() -> None:
    token = new_token()
    assert re.fullmatch(r"st_[0-9A-Za-z]{46}", token)
    assert checksum(token[3:43]) == token[43:]
    assert not misspelt(token)
    last = token[-1]
    assert misspelt(token[:-1] + ("A" if last != "A" else "B"))
    assert not misspelt("st_" + secrets.token_urlsafe(32))  # the older shape: looked up


def test_a_token_with_a_wrong_checksum_is_refused_on_every_path(
    client: TestClient, manager: Caller
) -> None:
    assert _statuses(client, manager.token) == [200, 200]
    broken = manager.token[:-1] + ("A" if manager.token[-1] != "A" else "B")
    assert _statuses(client, broken) == [401, 401]


def test_a_token_of_the_older_shape_still_works(client: TestClient, session: Session) -> None:
    raw = "st_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name="old", role=Role.VIEWER, digest=digest_of(raw), prefix=raw[:10]))
    session.flush()
    assert _statuses(client, raw) == [200, 200]


def test_an_expired_token_is_refused_on_every_path(client: TestClient, admin: Caller) -> None:
    made = client.post(
        "/api/tokens",
        json={"name": "temp", "role": "viewer", "expiresInDays": 2},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    expires = datetime.fromisoformat(body["expiresAt"])
    created = datetime.fromisoformat(body["createdAt"])
    assert expires - created == timedelta(days=2)
    assert _statuses(client, body["token"]) == [200, 200]  # and now it is cached
    with time_machine.travel(expires + timedelta(seconds=1)):
        assert _statuses(client, body["token"]) == [401, 401]


def test_rotation_gives_a_new_token_and_the_old_one_works_through_the_grace_period(
    client: TestClient, admin: Caller, manager: Caller
) -> None:
    rotated = client.post(
        f"/api/tokens/{manager.token_id}/rotate", json={"graceMinutes": 30}, headers=admin.headers
    )
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert (new["role"], new["name"]) == ("manager", "test-manager")
    assert new["token"] != manager.token
    assert _statuses(client, new["token"]) == [200, 200]
    assert _statuses(client, manager.token) == [200, 200]
    listed = client.get("/api/tokens", headers=admin.headers).json()["items"]
    old = next(item for item in listed if item["id"] == manager.token_id)
    assert old["replacedById"] == new["id"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=31)):
        assert _statuses(client, manager.token) == [401, 401]
        assert _statuses(client, new["token"]) == [200, 200]
    again = client.post(
        f"/api/tokens/{manager.token_id}/rotate", json={"graceMinutes": 0}, headers=admin.headers
    )
    assert again.status_code == 201  # still live: a second rotation, no grace this time
    assert _statuses(client, manager.token) == [401, 401]
    refused = client.post(f"/api/tokens/{manager.token_id}/rotate", headers=admin.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "TOKEN_NOT_LIVE"


def test_the_last_use_is_listed(client: TestClient, admin: Caller, viewer: Caller) -> None:
    USAGE.forget()  # token ids repeat from test to test; this process saw this one before
    before = client.get("/api/tokens", headers=admin.headers).json()["items"]
    assert next(t for t in before if t["id"] == viewer.token_id)["lastUsedAt"] is None
    client.get("/api/projects", headers=viewer.headers)
    after = client.get("/api/tokens", headers=admin.headers).json()["items"]
    used = next(t for t in after if t["id"] == viewer.token_id)["lastUsedAt"]
    assert used is not None
    assert datetime.now(UTC) - datetime.fromisoformat(used) < timedelta(minutes=1)


def test_the_last_use_is_written_at_most_once_a_minute_per_token() -> None:
    now = [1000.0]
    clock = UsageClock(interval=60, clock=lambda: now[0])
    assert clock.due(1)
    assert not clock.due(1)
    assert clock.due(2)
    now[0] += 59
    assert not clock.due(1)
    now[0] += 2
    assert clock.due(1)


@pytest.fixture
def runner(committed_database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", committed_database.url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_cli_creates_expiring_tokens_and_rotates_them(
    committed_database: Database, runner: CliRunner
) -> None:
    made = runner.invoke(
        cli, ["tokens", "create", "--role", "viewer", "--name", "erp", "--expires-in", "90d"]
    )
    assert made.exit_code == 0, made.output
    raw = made.output.strip().splitlines()[-1]
    assert not misspelt(raw)
    with committed_database.session_scope(write=False) as session:
        token = session.query(ApiToken).filter(ApiToken.digest == digest_of(raw)).one()
        assert token.expires_at is not None
        assert token.expires_at - token.created_at == timedelta(days=90)
        token_id = token.id
    listed = runner.invoke(cli, ["tokens", "list"], env={"COLUMNS": "80"})
    assert "expires" in listed.output
    rotated = runner.invoke(cli, ["tokens", "rotate", str(token_id), "--grace", "10m"])
    assert rotated.exit_code == 0, rotated.output
    assert f"replaces token {token_id}" in rotated.output
    fresh = rotated.output.strip().splitlines()[-1]
    assert fresh != raw
    assert not misspelt(fresh)
    bad = runner.invoke(cli, ["tokens", "create", "--role", "viewer", "--expires-in", "soon"])
    assert bad.exit_code == 2
    assert "--expires-in" in bad.output
