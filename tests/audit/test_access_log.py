"""The supplier access log: every request of a supplier token, what it asked for, what it got."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplytrack.audit.access import AccessLogReader, prune_expired
from supplytrack.audit.models import AccessLogEntry
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.time import utcnow
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory, days


def _two_suppliers(factory: Factory, session: Session) -> tuple[Caller, int, int]:
    """A supplier token, one of its instances and one of another supplier's."""
    project = factory.project()
    factory.template(project, canonical_due=days(20))
    mine, theirs = factory.supplier(), factory.supplier()
    factory.assign(project, mine)
    factory.assign(project, theirs)
    session.flush()
    own = session.scalars(select(TaskInstance.id).where(TaskInstance.supplier_id == mine.id)).one()
    other = session.scalars(
        select(TaskInstance.id).where(TaskInstance.supplier_id == theirs.id)
    ).one()
    return make_caller(session, Role.SUPPLIER, mine.id), own, other


def _log(client: TestClient, admin: Caller, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/access-log", params=params, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_every_request_of_a_supplier_token_is_logged_with_what_it_asked_and_got(
    client: TestClient, admin: Caller, manager: Caller, factory: Factory, session: Session
) -> None:
    supplier, own, other = _two_suppliers(factory, session)
    asked = [
        client.get("/api/task-instances?limit=5", headers=supplier.headers),  # the fast path
        client.get(f"/api/task-instances/{own}", headers=supplier.headers),
        client.get(f"/api/task-instances/{other}", headers=supplier.headers),  # 404: not its own
        client.patch(
            f"/api/task-instances/{own}",
            json={"notes": "tooling ordered"},
            headers={**supplier.headers, "If-Match": '"1"'},
        ),
    ]
    assert [answer.status_code for answer in asked] == [200, 200, 404, 200]
    client.get("/api/projects", headers=manager.headers)  # staff: not logged by default
    entries = _log(client, admin, supplierId=supplier.supplier_id)["items"]
    assert [(e["method"], e["target"], e["status"]) for e in reversed(entries)] == [
        ("GET", "/api/task-instances?limit=5", 200),
        ("GET", f"/api/task-instances/{own}", 200),
        ("GET", f"/api/task-instances/{other}", 404),
        ("PATCH", f"/api/task-instances/{own}", 200),
    ]
    assert [e["requestId"] for e in reversed(entries)] == [
        answer.headers["X-Request-ID"] for answer in asked
    ]
    assert {(e["tokenId"], e["role"]) for e in entries} == {(supplier.token_id, "supplier")}
    assert entries[0]["route"] == "/api/task-instances/{instance_id}"
    assert _log(client, admin, tokenId=manager.token_id)["items"] == []


def test_the_log_filters_and_pages(
    client: TestClient, admin: Caller, factory: Factory, session: Session
) -> None:
    supplier, own, other = _two_suppliers(factory, session)
    for target in (own, other, own, other, own):
        client.get(f"/api/task-instances/{target}", headers=supplier.headers)
    assert len(_log(client, admin, status=404)["items"]) == 2
    first = _log(client, admin, supplierId=supplier.supplier_id, limit=3)
    assert len(first["items"]) == 3
    rest = _log(client, admin, supplierId=supplier.supplier_id, cursor=first["nextCursor"])
    assert len(rest["items"]) == 2
    assert rest["nextCursor"] is None
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)
    later = (utcnow() + timedelta(minutes=1)).isoformat()
    assert _log(client, admin, **{"from": later})["items"] == []
    assert len(_log(client, admin, to=later, supplierId=supplier.supplier_id)["items"]) == 5
    bad = client.get("/api/access-log", params={"from": "yesterday"}, headers=admin.headers)
    assert bad.status_code == 422


def test_staff_requests_are_logged_when_asked_and_nothing_when_off(
    tuned: Callable[..., TestClient], admin: Caller, manager: Caller
) -> None:
    staff = tuned(access_log_staff=True)
    staff.get("/api/projects", headers=manager.headers)
    logged = _log(staff, admin, tokenId=manager.token_id)["items"]
    assert [(e["role"], e["target"]) for e in logged] == [("manager", "/api/projects")]
    off = tuned(access_log_enabled=False, access_log_staff=True)
    off.get("/api/suppliers", headers=manager.headers)
    assert len(_log(off, admin, tokenId=manager.token_id)["items"]) == 1  # still the one


def test_entries_past_their_retention_are_deleted(committed_database: Database) -> None:
    def entry(age: timedelta) -> AccessLogEntry:
        return AccessLogEntry(
            at=utcnow() - age,
            token_id=1,
            role="supplier",
            supplier_id=1,
            method="GET",
            route="/api/task-instances",
            target="/api/task-instances",
            status=200,
            request_id="r",
        )

    retention = timedelta(days=committed_database.settings.access_log_retention_days)
    with committed_database.session_scope() as session:
        session.add_all(
            [entry(retention + timedelta(days=1)), entry(retention - timedelta(days=1))]
        )
    assert prune_expired(committed_database) == 1  # the clock's first tick in this process
    with committed_database.session_scope() as session:
        session.add(entry(retention + timedelta(days=2)))
    assert prune_expired(committed_database) is None  # the next ticks wait an hour
    with committed_database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == 2
        assert AccessLogReader(session).prune(retention) == 1
