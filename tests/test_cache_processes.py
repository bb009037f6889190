"""Two `supplytrack serve` processes on one database: a write on one is read on the other.

Each process caches in its own memory (SQLite: the generations are in a file beside the
database) or in Redis (PostgreSQL run: REDIS_URL). Whatever one process committed, the other
never answers the old value afterwards: a changed supplier, a revoked token, a report after
a status change.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.database import DatabaseFactory
from tests.fixtures.serve import Server, cli, token_of

pytestmark = pytest.mark.slow


@pytest.fixture
def pair(
    tmp_path: Path, database_factory: DatabaseFactory
) -> Iterator[tuple[dict[str, str], Server, Server]]:
    """An env with demo data and two servers on it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_factory.fresh("cache"),
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_DEFAULT": "off",
        "RATE_LIMIT_SUPPLIER": "off",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # A prefix of the run's own: what an earlier run cached (same data, same generations)
    # would otherwise answer this one's first reads from Redis.
    env["REDIS_PREFIX"] = f"supplytrack_test_{uuid.uuid4().hex[:8]}"
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    cli(env, "demo-data", "--scale", "small", "--seed", "3")
    first, second = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
    try:
        first.wait_ready()
        second.wait_ready()
        yield env, first, second
    finally:
        first.stop()
        second.stop()


def test_what_one_process_commits_the_other_never_answers_stale(
    pair: tuple[dict[str, str], Server, Server],
) -> None:
    env, first, second = pair
    admin = token_of(env, "admin", "admin")
    doomed = token_of(env, "viewer", "doomed")

    # Each process warmed its cache as it started: the first project list is a hit.
    # With Redis the other process, warming at the same time, may have put them there first:
    # the first process's warming reads are hits then.
    def warmed() -> bool:
        return first.cache_count("reports", "miss") + first.cache_count("reports", "hit") >= 2

    deadline = time.monotonic() + 120  # the suite runs two workers on two cores: be patient
    while not warmed() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert warmed(), "the first process never finished warming"
    hits = first.cache_count("projects", "hit")
    assert first.get("/api/projects", admin).status_code == 200
    assert first.cache_count("projects", "hit") == hits + 1

    # A supplier, read twice on the first process: the second read is a hit.
    listed = first.get("/api/suppliers?limit=1", admin)
    assert "server" not in listed.headers  # uvicorn's "server: uvicorn" is switched off
    supplier = listed.json()["items"][0]
    path = f"/api/suppliers/{supplier['id']}"
    assert first.get(path, admin).json()["name"] == supplier["name"]
    hits = first.cache_count("suppliers", "hit")
    assert first.get(path, admin).json()["name"] == supplier["name"]
    assert first.cache_count("suppliers", "hit") == hits + 1

    # Renamed through the second process: the first answers the new name at once.
    renamed = httpx.patch(
        second.base + path,
        json={"name": "Renamed Elsewhere GmbH"},
        headers={"Authorization": f"Bearer {admin}", "If-Match": f'"{supplier["version"]}"'},
        timeout=10,
    )
    assert renamed.status_code == 200, renamed.text
    assert first.get(path, admin).json()["name"] == "Renamed Elsewhere GmbH"

    # A token known (and cached) by the first process, revoked through the second.
    assert first.get("/api/projects", doomed).status_code == 200
    assert first.get("/api/projects", doomed).status_code == 200
    tokens = second.get("/api/tokens?limit=500", admin).json()["items"]
    doomed_id = next(token["id"] for token in tokens if token["name"] == "doomed")
    revoked = httpx.delete(
        f"{second.base}/api/tokens/{doomed_id}",
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    assert first.get("/api/projects", doomed).status_code == 401

    # A report cached by the first process, then a status change through the second.
    status = "/api/reports/project-status?limit=500"
    before = first.get(status, admin).json()["items"]
    assert first.get(status, admin).json()["items"] == before
    task = first.get("/api/task-instances?status=NOT_STARTED&limit=1", admin).json()["items"][0]
    started = httpx.patch(
        f"{second.base}/api/task-instances/{task['id']}",
        json={"status": "IN_PROGRESS"},
        headers={"Authorization": f"Bearer {admin}", "If-Match": f'"{task["version"]}"'},
        timeout=10,
    )
    assert started.status_code == 200, started.text
    after = first.get(status, admin).json()["items"]

    def in_progress(items: list[dict[str, object]]) -> int:
        project = next(item for item in items if item["projectId"] == task["projectId"])
        counts = {row["status"]: row["count"] for row in project["byStatus"]}  # type: ignore[attr-defined]
        return int(counts.get("IN_PROGRESS", 0))

    assert in_progress(after) == in_progress(before) + 1
