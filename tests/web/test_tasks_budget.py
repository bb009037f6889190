"""The task pages send a fixed number of statements, whatever the page holds (no N+1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.tasks.models import TaskInstance
from supplytrack.web.pages import instance, portal, tasks
from tests.core.helpers import recording
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory
from tests.web.conftest import csrf_of

SignedIn = Callable[[Caller], TestClient]


@pytest.fixture(autouse=True)
def _uncached(database: Database) -> None:
    """Count what a request sends to the database: nothing comes from the cache."""
    database.cache.enabled = False


@pytest.fixture
def supplier(factory: Factory, session: Session) -> Caller:
    """Six suppliers on a project of four chained milestones; the first one's token."""
    project = factory.project()
    suppliers = [factory.supplier() for _ in range(6)]
    for one in suppliers:
        factory.assign(project, one)
    previous: tuple[int, ...] = ()
    for _ in range(4):
        previous = (factory.template(project, depends_on=previous).id,)
    return make_caller(session, Role.SUPPLIER, suppliers[0].id)


def _statements(client: TestClient, database: Database, path: str) -> int:
    with recording(database.engine) as log:
        answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return len(log.data)


@pytest.mark.parametrize("sort", ["actualDue", "supplier", "-id"])
def test_the_list_does_not_grow_with_its_page(
    signed_in: SignedIn,
    manager: Caller,
    supplier: Caller,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    sort: str,
) -> None:
    client = signed_in(manager)
    counts = []
    for size in (2, 24):
        monkeypatch.setattr(tasks, "PAGE_SIZE", size)
        counts.append(_statements(client, database, f"/tasks?sort={sort}"))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts


def test_the_portal_does_not_grow_with_its_page(
    signed_in: SignedIn, supplier: Caller, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(supplier)
    counts = []
    for size in (1, 4):
        monkeypatch.setattr(portal, "PAGE_SIZE", size)
        counts.append(_statements(client, database, "/portal"))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts


def test_the_instance_page_does_not_grow_with_its_history(
    signed_in: SignedIn,
    manager: Caller,
    supplier: Caller,
    database: Database,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = signed_in(manager)
    first = session.scalars(select(TaskInstance.id).order_by(TaskInstance.id)).first()
    page = client.get(f"/tasks/{first}")
    for version in range(1, 9):
        client.post(
            f"/tasks/{first}/notes",
            data={"csrf": csrf_of(page.text), "version": str(version), "notes": f"n{version}"},
        )
    counts = []
    for size in (2, 8):
        monkeypatch.setattr(instance, "HISTORY_PAGE", size)
        counts.append(_statements(client, database, f"/tasks/{first}"))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts
