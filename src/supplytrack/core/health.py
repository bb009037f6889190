"""Liveness, readiness and metrics endpoints (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from supplytrack.core import metrics
from supplytrack.core.db import Database
from supplytrack.core.migrate import current_revision, head_revision
from supplytrack.core.redis_client import REDIS_ERRORS, client
from supplytrack.core.settings import Settings

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (says nothing of the database)."""
    return {"status": "ok"}


class Readiness(BaseModel):
    """Whether the service can serve, and each check's result."""

    status: str = Field(
        description="ready; degraded (ready, but Redis is down: see docs/operations.md); or"
        " not ready (503)."
    )
    checks: dict[str, str] = Field(description="database, schema, redis: ok or what is wrong.")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: see the failing checks."}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: database reachable and schema at head (Redis down: degraded, still 200)."""
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
    if database.settings.redis_url:
        checks["redis"] = _redis_check(database.settings)
    # Redis down leaves the service working (jobs wait for the sweeper, limits count per
    # process): degraded, still ready, so a load balancer keeps sending traffic.
    ready = all(checks[name] == "ok" for name in ("database", "schema"))
    status = "not ready" if not ready else "ready"
    if ready and checks.get("redis", "ok") != "ok":
        status = "degraded"
    return JSONResponse(
        {"status": status, "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )


def _redis_check(settings: Settings) -> str:
    try:
        client(settings).ping()
    except REDIS_ERRORS as error:
        return f"unreachable: {type(error).__name__}"
    return "ok"


@router.get("/metrics", response_class=Response)
def prometheus_metrics() -> Response:
    """Prometheus exposition of request counts and latencies."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
