"""The fast path of the hot reads answers byte for byte what the FastAPI routes answer.

Every request here is sent to two applications on the same data, one with FAST_PATHS and one
without, and the status, the body and the headers that matter must be identical. The plain
requests must really have been served by the fast path (counted); the others (asOf, bad
values, unknown or revoked tokens, other suppliers' ids) must have fallen through to the
route, and still answer the same.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supplytrack.api import fast
from supplytrack.auth.models import ApiToken
from supplytrack.core.identity import Role
from supplytrack.core.time import today, utcnow
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory, days


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the fast path answered itself."""
    answered: list[str] = []
    original = fast._send

    async def counting(send: Any, body: bytes, headers: Any) -> None:
        answered.append("x")
        await original(send, body, headers)

    monkeypatch.setattr(fast, "_send", counting)
    return answered


@pytest.fixture
def data(factory: Factory, session: Session, client: TestClient, manager: Caller) -> dict[str, Any]:
    """Two projects, three suppliers, statuses, moved dates, notes, overdue and at-risk rows."""
    project = factory.project(sop_date=days(60))
    other = factory.project()
    a = factory.template(project, canonical_due=days(10))
    b = factory.template(project, (a.id,), canonical_due=days(20))
    factory.template(other, canonical_due=days(15))
    suppliers = [factory.supplier() for _ in range(3)]
    for supplier in suppliers:
        factory.assign(project, supplier)
    factory.assign(other, suppliers[0])
    ids = sorted(session.scalars(select(TaskInstance.id)))
    for n, instance_id in enumerate(ids[:4]):
        body: dict[str, Any] = {"status": "IN_PROGRESS", "notes": f"näher am Ziel {n} ✓"}
        if n % 2:
            body |= {"actualDue": days(70 + n).isoformat(), "reasonCode": "TOOLING_DELAY"}
            body |= {"reason": "past SOP"}
        answer = client.patch(
            f"/api/task-instances/{instance_id}", json=body, headers=manager.headers
        )
        assert answer.status_code == 200, answer.text
    # Some overdue work (dates in the past are only written by imports and time).
    session.execute(
        update(TaskInstance)
        .where(TaskInstance.id.in_(ids[4:6]))
        .values(actual_due=today() - timedelta(days=3))
    )
    session.flush()
    supplier = make_caller(session, Role.SUPPLIER, suppliers[0].id)
    revoked = make_caller(session, Role.VIEWER)
    session.execute(
        update(ApiToken).where(ApiToken.id == revoked.token_id).values(revoked_at=utcnow())
    )
    session.flush()
    foreign = session.scalars(
        select(TaskInstance.id).where(TaskInstance.supplier_id == suppliers[1].id).limit(1)
    ).one()
    return {
        "foreign": foreign,
        "project": project.id,
        "other": other.id,
        "template": b.id,
        "suppliers": [s.id for s in suppliers],
        "ids": ids,
        "supplier": supplier,
        "revoked": revoked,
    }


def _same(pair: tuple[TestClient, TestClient], url: str, headers: dict[str, str]) -> Any:
    fast_answer = pair[0].get(url, headers=headers)
    plain_answer = pair[1].get(url, headers=headers)
    assert fast_answer.status_code == plain_answer.status_code, url
    if (
        plain_answer.headers.get("content-type") == "application/json"
        and plain_answer.status_code >= 400
    ):
        # Errors carry their (random) request id: compare the rest of the envelope.
        left, right = fast_answer.json()["error"], plain_answer.json()["error"]
        left.pop("requestId"), right.pop("requestId")
        assert left == right, url
    else:
        assert fast_answer.content == plain_answer.content, url
    for name in ("content-type", "etag", "www-authenticate"):
        assert fast_answer.headers.get(name) == plain_answer.headers.get(name), (url, name)
    return fast_answer


def _plain_lists(data: dict[str, Any]) -> list[str]:
    p, s, t = data["project"], data["suppliers"][1], data["template"]
    due = days(12).isoformat()
    lists = [
        "/api/task-instances",
        f"/api/task-instances?projectId={p}",
        f"/api/task-instances?projectId={p}&limit=2",
        f"/api/task-instances?supplierId={s}&limit=500",
        f"/api/task-instances?taskTemplateId={t}",
        f"/api/task-instances?projectId={p}&status=IN_PROGRESS&status=NOT_STARTED",
        "/api/task-instances?overdue=true&limit=1",
        f"/api/task-instances?overdue=false&projectId={p}",
        f"/api/task-instances?dueBefore={due}&dueAfter=2020-01-01",
        "/api/task-instances?unknownButIgnored=1",
    ]
    sorts = ("id", "-id", "actualDue", "-actualDue", "status", "createdAt", "-updatedAt")
    lists.extend(f"/api/task-instances?projectId={p}&sort={sort}&limit=2" for sort in sorts)
    return lists


def test_plain_lists_and_their_next_pages_are_identical(
    pair: tuple[TestClient, TestClient], data: dict[str, Any], manager: Caller, served: list[str]
) -> None:
    for caller in (manager.headers, data["supplier"].headers):
        for first in _plain_lists(data):
            url, pages = first, 0
            while url and pages < 6:
                answer = _same(pair, url, caller)
                assert answer.status_code == 200, (url, answer.text)
                cursor = answer.json()["nextCursor"]
                url = f"{first}{'&' if '?' in first else '?'}cursor={cursor}" if cursor else ""
                pages += 1
    assert len(served) > 2 * len(_plain_lists(data))


def test_single_instances_are_identical(
    pair: tuple[TestClient, TestClient], data: dict[str, Any], manager: Caller, served: list[str]
) -> None:
    for instance_id in data["ids"]:
        answer = _same(pair, f"/api/task-instances/{instance_id}", manager.headers)
        assert answer.status_code == 200
        assert answer.headers["etag"] == f'"{answer.json()["version"]}"'
    assert len(served) == len(data["ids"])
    # Another supplier's instance and a missing one are the same 404, through the route.
    mine = _same(pair, f"/api/task-instances/{data['ids'][0]}", data["supplier"].headers)
    assert mine.status_code == 200
    for missing in (data["foreign"], 2_000_000_000):
        assert (
            _same(pair, f"/api/task-instances/{missing}", data["supplier"].headers).status_code
            == 404
        )


ODD = [
    "/api/task-instances?projectId=0",
    "/api/task-instances?projectId=abc",
    "/api/task-instances?projectId=%2B1",
    "/api/task-instances?projectId=1&projectId=2",
    "/api/task-instances?status=DONE",
    "/api/task-instances?overdue=yes",
    "/api/task-instances?overdue=",
    "/api/task-instances?dueBefore=2026-02-30",
    "/api/task-instances?dueBefore=0001-01-01",
    "/api/task-instances?limit=0",
    "/api/task-instances?limit=501",
    "/api/task-instances?limit=",
    "/api/task-instances?sort=",
    "/api/task-instances?sort=notes",
    "/api/task-instances?cursor=bm90IGEgY3Vyc29y",
    "/api/task-instances?cursor=",
    "/api/task-instances?asOf=2026-01-01",
    "/api/task-instances/0",
    "/api/task-instances/99999999999",
    "/api/task-instances/abc",
    "/api/task-instances/1?asOf=2099-01-01",
]


@pytest.mark.parametrize("url", ODD)
def test_everything_else_falls_through_and_answers_the_same(
    pair: tuple[TestClient, TestClient], data: dict[str, Any], manager: Caller, url: str
) -> None:
    _same(pair, url, manager.headers)


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic abc", "Bearer st_unknown", "bearer {revoked}", "x" * 300],
)
def test_bad_tokens_fall_through_to_the_same_401(
    pair: tuple[TestClient, TestClient], data: dict[str, Any], authorization: str
) -> None:
    header = authorization.format(revoked=data["revoked"].token)
    for url in ("/api/task-instances", f"/api/task-instances/{data['ids'][0]}"):
        answer = _same(pair, url, {"Authorization": header} if header else {})
        assert answer.status_code == 401
