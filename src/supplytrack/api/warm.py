"""Warming the cache: the reads most people open first, requested in-process through the routes.

The requests go through the application itself (its validation, scoping and cache keys), as
a staff viewer that no token stands for: the actor rides in the ASGI scope, where only code of
this process can put it (a request from the network never carries it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from supplytrack.api.deps import WARM_ACTOR_KEY
from supplytrack.core.db import Database
from supplytrack.core.identity import Actor, Role
from supplytrack.projects.models import CLOSED_PROJECT_STATUSES, Project

log = logging.getLogger("supplytrack.cache")

WARMER = Actor(None, Role.VIEWER, "cache-warm")
FIRST_READS = (
    "/api/projects",
    "/api/suppliers",
    "/api/reports/project-status",
    "/api/reports/supplier-performance",
)
PROJECT_READS = (
    "/api/projects/{id}",
    "/api/projects/{id}/task-templates",
    "/api/projects/{id}/calendar",
)
MAX_PROJECTS = 200


@dataclass(frozen=True, slots=True)
class Warmed:
    """One warming read: its path, status and time taken."""

    path: str
    status: int
    seconds: float


def warm_paths(database: Database) -> list[str]:
    """The first reads, then the metadata, milestones and calendar of each open project."""
    with database.session_scope(write=False) as session:
        ids = session.scalars(
            select(Project.id)
            .where(Project.status.not_in(CLOSED_PROJECT_STATUSES))
            .order_by(Project.id)
            .limit(MAX_PROJECTS)
        ).all()
    return [*FIRST_READS, *(path.format(id=i) for i in ids for path in PROJECT_READS)]


async def _get(app: FastAPI, path: str) -> int:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"cache-warm")],
        "client": None,
        "server": None,
        WARM_ACTOR_KEY: WARMER,
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def warm(app: FastAPI) -> list[Warmed]:
    """Request every warming read once (each lands in the cache); what each answered."""
    database: Database = app.state.database
    if not database.settings.cache_enabled:
        return []
    done = []
    for path in warm_paths(database):
        started = time.perf_counter()
        status = await _get(app, path)
        done.append(Warmed(path, status, time.perf_counter() - started))
    failed = [item.path for item in done if item.status != 200]
    log.info(
        "cache warmed",
        extra={
            "reads": len(done),
            "failed": failed[:5],
            "seconds": round(sum(i.seconds for i in done), 3),
        },
    )
    return done
