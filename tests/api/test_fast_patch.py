"""The PATCH of one instance answers the same through the fast path and through the route.

Each case runs twice on two instances in the same state (one per supplier): once through an
application with FAST_PATHS, once without. The status, the headers that matter, the answer
(less what must differ: ids, instants, the request id) and the history rows written must be
the same; plain PATCHes must have been answered by the fast path, the others by the route.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc, select
from sqlalchemy.orm import Session

from supplytrack.api import fast
from supplytrack.core.identity import Role
from supplytrack.core.routing import UnitOfWork
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory, days

_DIFFERENT = {"id", "supplierId", "supplierProjectId", "createdAt", "updatedAt", "submittedAt"}
_HISTORY_DIFFERENT = {"id", "taskInstanceId", "changedAt", "changeId", "requestId", "actorId"}


@dataclass
class Case:
    """One PATCH: its body (or raw bytes), headers, who sends it, whether it is plain."""

    name: str
    body: Any
    plain: bool
    who: str = "manager"
    headers: dict[str, str] = field(default_factory=dict)
    path_suffix: str = ""
    if_match: str | None = None  # "current", "stale" or a literal value
    before: dict[str, Any] | None = None  # a PATCH both instances get first
    status: int = 0  # the answer's status (0: 200 when plain, else a refusal)

    def __post_init__(self) -> None:
        self.status = self.status or (200 if self.plain else 422)


CASES = [
    Case("start", {"status": "IN_PROGRESS"}, plain=True),
    Case(
        "block", {"status": "BLOCKED", "reason": "tooling"}, True, before={"status": "IN_PROGRESS"}
    ),
    Case("notes", {"notes": "Prüfung läuft ✓"}, plain=True),
    Case("clear notes", {"notes": None}, True, before={"notes": "x"}),
    Case("due date", {"actualDue": days(40).isoformat(), "reasonCode": "TOOLING_DELAY"}, True),
    Case("shift", {"shiftWorkingDays": 3, "reasonCode": "TOOLING_DELAY", "cascade": True}, True),
    Case("supplier starts", {"status": "IN_PROGRESS"}, plain=True, who="supplier"),
    Case("if-match current", {"notes": "a"}, plain=True, if_match="current"),
    Case("if-match star", {"notes": "a"}, plain=True, if_match="*"),
    # The domain refuses: the route answers.
    Case("blocked without reason", {"status": "BLOCKED"}, False, before={"status": "IN_PROGRESS"}),
    Case("no such move", {"status": "APPROVED"}, plain=False),
    Case("date without reason code", {"actualDue": days(41).isoformat()}, plain=False),
    Case(
        "supplier moves a date",
        {"actualDue": days(41).isoformat(), "reasonCode": "OTHER"},
        plain=False,
        who="supplier",
        status=403,
    ),
    Case("if-match stale", {"notes": "a"}, plain=False, if_match="stale", status=412),
    Case("if-match garbage", {"notes": "a"}, plain=False, if_match="nope", status=400),
    # FastAPI refuses: the route answers.
    Case("unknown field", {"colour": "red"}, plain=False),
    Case("wrong type", {"status": 5}, plain=False),
    Case("not an object", [1, 2], plain=False),
    Case("broken JSON", b'{"status": ', plain=False, status=400),
    Case("empty body", b"", plain=False),
    Case("text body", b'{"notes": "a"}', plain=False, headers={"content-type": "text/plain"}),
    Case("viewer", {"notes": "a"}, plain=False, who="viewer", status=403),
    Case("no token", {"notes": "a"}, plain=False, who="nobody", status=401),
    Case("query string", {"notes": "a"}, plain=False, path_suffix="?x=1", status=200),
]


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the fast path sent itself."""
    sent: list[bytes] = []
    original = fast._send

    async def counting(send: Any, body: bytes, headers: Any) -> None:
        sent.append(body)
        await original(send, body, headers)

    monkeypatch.setattr(fast, "_send", counting)
    return sent


@pytest.fixture
def twins(factory: Factory, session: Session) -> dict[str, Any]:
    """Per case, two instances in the same state (one of each supplier), and the callers."""
    project = factory.project(sop_date=days(200))
    templates = [factory.template(project, canonical_due=days(20 + n)) for n in range(len(CASES))]
    suppliers = [factory.supplier(), factory.supplier()]
    for supplier in suppliers:
        factory.assign(project, supplier)
    by_key = {
        (row.task_template_id, row.supplier_id): row.id
        for row in session.execute(
            select(TaskInstance.id, TaskInstance.task_template_id, TaskInstance.supplier_id)
        )
    }
    return {
        "ids": [[by_key[(t.id, s.id)] for s in suppliers] for t in templates],
        "suppliers": [make_caller(session, Role.SUPPLIER, s.id) for s in suppliers],
        "manager": make_caller(session, Role.MANAGER),
        "viewer": make_caller(session, Role.VIEWER),
    }


def _send(
    pair: tuple[TestClient, TestClient],
    fast_side: bool,
    case: Case,
    instance_id: int,
    caller: Caller | None,
    manager: dict[str, str],
) -> Any:
    client, plain = pair[0] if fast_side else pair[1], pair[1]
    headers = dict(caller.headers) if caller else {}
    if case.if_match is not None:
        read = plain.get(f"/api/task-instances/{instance_id}", headers=manager)
        version = read.json()["version"]
        headers["If-Match"] = {"current": f'"{version}"', "stale": f'"{version - 1 or 99}"'}.get(
            case.if_match, case.if_match
        )
    headers |= case.headers
    url = f"/api/task-instances/{instance_id}{case.path_suffix}"
    if isinstance(case.body, bytes):
        headers.setdefault("content-type", "application/json")
        return client.request("PATCH", url, content=case.body, headers=headers)
    return client.patch(url, json=case.body, headers=headers)


def _comparable(answer: Any, instance_id: int) -> Any:
    if answer.headers.get("content-type") != "application/json":
        return answer.content
    body = answer.json()
    if isinstance(body, dict) and "error" in body:
        body["error"].pop("requestId")
        body["error"]["message"] = body["error"]["message"].replace(f" {instance_id} ", " ID ")
        return body
    return {key: value for key, value in body.items() if key not in _DIFFERENT}


def _history(client: TestClient, instance_id: int, manager: dict[str, str]) -> list[dict[str, Any]]:
    rows = client.get(f"/api/task-instances/{instance_id}/history", headers=manager).json()
    return [{k: v for k, v in row.items() if k not in _HISTORY_DIFFERENT} for row in rows["items"]]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_patch_answers_the_same_through_both_paths(
    pair: tuple[TestClient, TestClient], twins: dict[str, Any], answered: list[bytes], case: Case
) -> None:
    manager = twins["manager"].headers
    fast_id, plain_id = twins["ids"][CASES.index(case)]
    callers: list[Caller | None] = {
        "manager": [twins["manager"]] * 2,
        "viewer": [twins["viewer"]] * 2,
        "supplier": twins["suppliers"],
        "nobody": [None, None],
    }[case.who]
    if case.before is not None:
        for client, instance_id in zip(pair, (fast_id, plain_id), strict=True):
            assert (
                client.patch(
                    f"/api/task-instances/{instance_id}", json=case.before, headers=manager
                ).status_code
                == 200
            )
    answered.clear()
    fast_answer = _send(pair, True, case, fast_id, callers[0], manager)
    served = len(answered)
    plain_answer = _send(pair, False, case, plain_id, callers[1], manager)
    assert len(answered) == served, "the plain application never takes the fast path"
    assert served == (1 if case.plain else 0), case.name
    assert fast_answer.status_code == plain_answer.status_code, fast_answer.text
    assert fast_answer.status_code == case.status, fast_answer.text
    for name in ("content-type", "etag"):
        assert fast_answer.headers.get(name) == plain_answer.headers.get(name), name
    assert _comparable(fast_answer, fast_id) == _comparable(plain_answer, plain_id)
    assert _history(pair[1], fast_id, manager) == _history(pair[1], plain_id, manager)
    if case.plain:
        # The answer is the instance as it now is (what a GET answers).
        now = pair[1].get(f"/api/task-instances/{fast_id}", headers=manager)
        assert fast_answer.content == now.content
        assert fast_answer.headers["etag"] == now.headers["etag"]


def _lost() -> exc.OperationalError:
    return exc.OperationalError(
        "COMMIT", None, sqlite3.OperationalError("server closed the connection")
    )


def test_a_failed_commit_is_answered_as_the_route_answers_it(
    pair: tuple[TestClient, TestClient],
    twins: dict[str, Any],
    answered: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing(self: UnitOfWork) -> None:
        raise _lost()

    monkeypatch.setattr(UnitOfWork, "commit", failing)
    manager = twins["manager"].headers
    fast_id, plain_id = twins["ids"][0]
    answers = [
        client.patch(f"/api/task-instances/{i}", json={"notes": "lost?"}, headers=manager)
        for client, i in zip(pair, (fast_id, plain_id), strict=True)
    ]
    assert [a.status_code for a in answers] == [503, 503]
    assert answers[0].headers.get("retry-after") == answers[1].headers.get("retry-after")
    assert answers[0].headers.get("retry-after") is not None
    assert answers[0].json()["error"]["code"] == answers[1].json()["error"]["code"]
    assert answered == []  # no success was sent


def test_a_retryable_error_before_the_commit_hands_the_patch_to_the_route(
    pair: tuple[TestClient, TestClient],
    twins: dict[str, Any],
    answered: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = fast.patch_and_read

    def busy_once(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise exc.OperationalError(
                "UPDATE", None, sqlite3.OperationalError("database is locked")
            )
        return real(*args)

    monkeypatch.setattr(fast, "patch_and_read", busy_once)
    fast_id = twins["ids"][0][0]
    manager = twins["manager"].headers
    answer = pair[0].patch(
        f"/api/task-instances/{fast_id}", json={"status": "IN_PROGRESS"}, headers=manager
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 2  # written once, by the route
    assert answered == []
    assert len(_history(pair[1], fast_id, manager)) == 1
