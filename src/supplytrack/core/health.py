"""Liveness, readiness and metrics endpoints (no token needed)."""

from __future__ import annotations

from typing import Any

import redis
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from supplytrack.core import metrics
from supplytrack.core.db import Database
from supplytrack.core.migrate import current_revision, head_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (says nothing of the database)."""
    return {"status": "ok"}


class Readiness(BaseModel):
    """Whether the service can serve, and each check's result."""

    status: str = Field(description="ready or not ready.")
    checks: dict[str, str] = Field(description="database, schema, redis: ok or what is wrong.")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: see the failing checks."}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: database reachable, schema at head, Redis reachable when configured."""
    database: Database = request.app.state.database
    checks: dict[str, Any] = {}
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = current_revision(connection)
        checks["database"] = "ok"
        head = head_revision()
        checks["schema"] = "ok" if current == head else f"at {current}, head is {head}"
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
        checks["schema"] = "unknown"
    redis_url = database.settings.redis_url
    if redis_url:
        checks["redis"] = _redis_check(redis_url)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )


def _redis_check(url: str) -> str:
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as error:
        return f"unreachable: {type(error).__name__}"
    return "ok"


@router.get("/metrics", response_class=Response)
def prometheus_metrics() -> Response:
    """Prometheus exposition of request counts and latencies."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
