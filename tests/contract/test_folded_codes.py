"""Project and supplier codes are unique whatever their case, through the API and beneath it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, exc, text
from sqlalchemy.orm import Session

from supplytrack.core.migrate import downgrade, upgrade
from tests.fixtures.auth import Caller
from tests.fixtures.database import DatabaseFactory

KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "projects": ("/api/projects", {"name": "EV", "startDate": "2026-01-01"}),
    "suppliers": ("/api/suppliers", {"name": "Acme", "contactEmail": "q@acme.example"}),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_code_that_differs_only_in_case_is_taken(
    client: TestClient, manager: Caller, kind: str
) -> None:
    path, body = KINDS[kind]
    first = client.post(path, json={**body, "code": "EV-2028-A"}, headers=manager.headers)
    assert first.status_code == 201, first.text
    twin = client.post(path, json={**body, "code": "ev-2028-a"}, headers=manager.headers)
    assert twin.status_code == 409, twin.text
    assert twin.json()["error"]["code"] == "DUPLICATE_CODE"
    listed = client.get(path, headers=manager.headers).json()["items"]
    assert [item["code"] for item in listed if item["code"].lower() == "ev-2028-a"] == ["EV-2028-A"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_renaming_onto_another_code_in_another_case_is_taken_but_recasing_ones_own_is_not(
    client: TestClient, manager: Caller, kind: str
) -> None:
    path, body = KINDS[kind]
    client.post(path, json={**body, "code": "ALPHA-1"}, headers=manager.headers)
    other = client.post(path, json={**body, "code": "BETA-1"}, headers=manager.headers).json()
    url = f"{path}/{other['id']}"
    onto = client.patch(
        url, json={"code": "alpha-1"}, headers={**manager.headers, "If-Match": '"1"'}
    )
    assert onto.status_code == 409, onto.text
    assert onto.json()["error"]["code"] == "DUPLICATE_CODE"
    recased = client.patch(
        url, json={"code": "beta-1"}, headers={**manager.headers, "If-Match": '"1"'}
    )
    assert recased.status_code == 200, recased.text
    assert recased.json()["code"] == "beta-1"  # stored as sent


@pytest.mark.parametrize("table", list(KINDS))
def test_the_database_refuses_twins_a_hand_made_insert_would_add(
    session: Session, table: str
) -> None:
    columns = "code, name, status, created_at, updated_at, version"
    status = "PLANNING" if table == "projects" else "ACTIVE"
    insert = text(f"INSERT INTO {table} ({columns}) VALUES (:code, 'x', :status, :at, :at, 1)")
    values = {"status": status, "at": "2026-01-01 00:00:00"}
    session.execute(insert, {**values, "code": "TWIN-1"})
    with pytest.raises(exc.IntegrityError), session.begin_nested():
        session.execute(insert, {**values, "code": " twin-1 "})


def test_the_upgrade_names_twins_already_there_and_changes_nothing(
    database_factory: DatabaseFactory,
) -> None:
    url = database_factory.fresh("twins")
    downgrade("0006", url=url)
    engine = create_engine(url)
    with engine.begin() as connection:
        for code in ("ACME-01", "acme-01"):
            connection.execute(
                text(
                    "INSERT INTO suppliers (code, name, status, created_at, updated_at, version)"
                    " VALUES (:c, 'x', 'ACTIVE', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
                ),
                {"c": code},
            )
    with pytest.raises(RuntimeError, match=r"suppliers has codes .*acme-01 \(2\)"):
        upgrade("head", url=url)
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert revision == "0006"
