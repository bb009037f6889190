"""Rate limits on every route: per token, per supplier across its tokens, shared by workers.

Each limited answer carries RateLimit-Limit / -Remaining / -Reset; beyond the limit the answer
is 429 with Retry-After and the error envelope. Where Redis is in play it is a server of the
test's own, killed by the test.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.core.identity import Role
from supplytrack.core.settings import Settings
from supplytrack.main import create_app
from supplytrack.tasks.models import TaskInstance
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.database import TransactionalDatabase
from tests.fixtures.factories import Factory, days
from tests.fixtures.redis_server import OwnRedis

Tuned = Callable[..., TestClient]


@pytest.fixture
def instance_id(factory: Factory, session: Session) -> int:
    project = factory.project()
    factory.template(project, name="PPAP", canonical_due=days(30))
    factory.assign(project, factory.supplier())
    found = session.scalar(select(TaskInstance.id).where(TaskInstance.project_id == project.id))
    assert found is not None
    return found


def _requests(instance_id: int) -> dict[str, tuple[str, str, dict[str, object] | None]]:
    return {
        "list (fast path)": ("GET", "/api/task-instances?limit=5", None),
        "one (fast path)": ("GET", f"/api/task-instances/{instance_id}", None),
        "projects": ("GET", "/api/projects", None),
        "reports": ("GET", "/api/reports/supplier-performance", None),
        "notes PATCH": ("PATCH", f"/api/task-instances/{instance_id}", {"notes": "limited"}),
    }


@pytest.mark.parametrize(
    "name", ["list (fast path)", "one (fast path)", "projects", "reports", "notes PATCH"]
)
def test_every_route_counts_per_token_and_says_so(
    tuned: Tuned, admin: Caller, manager: Caller, instance_id: int, name: str
) -> None:
    client = tuned(rate_limit_default="3/minute")
    method, path, body = _requests(instance_id)[name]
    remaining = []
    for _ in range(3):
        answer = client.request(method, path, json=body, headers=admin.headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["ratelimit-limit"] == "3"
        assert 1 <= int(answer.headers["ratelimit-reset"]) <= 60
        remaining.append(int(answer.headers["ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    refused = client.request(method, path, json=body, headers=admin.headers)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    # Another token has a count of its own.
    other = client.request(method, path, json=body, headers=manager.headers)
    assert other.status_code == 200, other.text


def test_a_suppliers_tokens_share_one_count(
    tuned: Tuned, session: Session, factory: Factory, admin: Caller
) -> None:
    project = factory.project()
    factory.template(project, name="PPAP", canonical_due=days(30))
    supplier = factory.supplier()
    factory.assign(project, supplier)
    first = make_caller(session, Role.SUPPLIER, supplier.id)
    second = make_caller(session, Role.SUPPLIER, supplier.id)
    client = tuned(rate_limit_default="100/minute", rate_limit_supplier="3/minute")
    for caller in (first, second, first):
        assert client.get("/api/task-instances", headers=caller.headers).status_code == 200
    refused = client.get("/api/task-instances", headers=second.headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["details"][0]["scope"] == "supplier"
    assert client.get("/api/task-instances", headers=admin.headers).status_code == 200


def test_bulk_submissions_have_their_own_tighter_count(
    tuned: Tuned, manager: Caller, instance_id: int
) -> None:
    client = tuned(rate_limit_default="100/minute", bulk_rate_limit="1/minute")
    url = "/api/task-instances/bulk-status-update"
    body = {"ids": [instance_id], "status": "IN_PROGRESS"}
    first = client.post(url, json=body, headers=manager.headers)
    assert first.status_code == 200, first.text
    assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("1", "0")
    refused = client.post(url, json=body, headers=manager.headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["details"][0]["scope"] == "bulk"
    assert refused.headers.get_list("ratelimit-limit") == ["1"]  # one set of fields, not two
    assert client.get("/api/projects", headers=manager.headers).status_code == 200


def test_off_turns_a_rule_off_and_nonsense_is_refused_at_start() -> None:
    assert Settings(rate_limit_default="OFF").rate_limit_default == "off"
    for bad in ("lots", "10 per fortnight", ""):
        with pytest.raises(ValidationError, match="not a rate limit"):
            Settings(rate_limit_default=bad)


def test_workers_share_the_count_through_redis_and_count_alone_while_it_is_down(
    database: TransactionalDatabase, admin: Caller, own_redis: OwnRedis
) -> None:
    """Two applications (two worker processes) on one Redis: one count. Redis killed: each
    counts in its own memory, and nothing answers 5xx."""
    settings = database.settings.model_copy(
        update={"redis_url": own_redis.url, "rate_limit_default": "4/minute"}
    )
    with (
        TestClient(create_app(settings, database=database), raise_server_exceptions=False) as one,
        TestClient(create_app(settings, database=database), raise_server_exceptions=False) as two,
    ):
        codes = [c.get("/api/projects", headers=admin.headers).status_code for c in (one, two) * 2]
        assert codes == [200, 200, 200, 200]
        assert two.get("/api/projects", headers=admin.headers).status_code == 429
        assert one.get("/api/projects", headers=admin.headers).status_code == 429

        own_redis.stop()
        alone = [one.get("/api/projects", headers=admin.headers).status_code for _ in range(5)]
        assert alone == [200, 200, 200, 200, 429]  # this process's own count, from zero
        assert two.get("/api/projects", headers=admin.headers).status_code == 200
