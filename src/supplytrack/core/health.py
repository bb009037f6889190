"""Liveness and readiness (no token needed), and metrics (this host, or METRICS_TOKEN)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field
from sqlalchemy import bindparam, text

from supplytrack.core import metrics
from supplytrack.core.db import Database
from supplytrack.core.errors import Forbidden, Unauthorized
from supplytrack.core.migrate import current_revision, head_revision
from supplytrack.core.models import UTCDateTime
from supplytrack.core.openapi import responses
from supplytrack.core.redis_client import REDIS_ERRORS, client
from supplytrack.core.rowsecurity import system_scope
from supplytrack.core.settings import Settings
from supplytrack.core.time import utcnow

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


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _may_scrape(request: Request, settings: Settings) -> None:
    """METRICS_TOKEN set: its bearer only. Unset: only this host (loopback) may scrape."""
    expected = settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise Unauthorized(
                "/metrics needs Authorization: Bearer <METRICS_TOKEN>", code="METRICS_TOKEN_NEEDED"
            )
        return
    host = request.client.host if request.client else None
    if host not in LOOPBACK:
        raise Forbidden(
            "/metrics answers this host only; set METRICS_TOKEN to scrape it from elsewhere",
            code="METRICS_LOOPBACK_ONLY",
        )


class ScrapedNow(Collector):
    """Figures read when Prometheus scrapes: database and Redis up, the jobs table's state."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        """One gauge per figure (a database that does not answer: database_up 0, no job figures)."""
        settings = self.database.settings
        up = GaugeMetricFamily("supplytrack_database_up", "The database answered this scrape")
        try:
            jobs = self._jobs(settings.job_lease_seconds)
        except Exception:  # any failure to read is the figure itself: down
            up.add_metric([], 0)
            jobs = None
        else:
            up.add_metric([], 1)
        yield up
        if settings.redis_url:
            redis_up = GaugeMetricFamily("supplytrack_redis_up", "Redis answered this scrape")
            redis_up.add_metric([], 1 if _redis_check(settings) == "ok" else 0)
            yield redis_up
        if jobs is None:
            return
        by_state, oldest_queued, stuck = jobs
        states = GaugeMetricFamily(
            "supplytrack_jobs", "Jobs in the jobs table, by state", labels=["state"]
        )
        for state in ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"):
            states.add_metric([state], by_state.get(state, 0))
        yield states
        age = GaugeMetricFamily(
            "supplytrack_job_oldest_queued_seconds", "Age of the oldest QUEUED job (0: none)"
        )
        age.add_metric([], oldest_queued)
        yield age
        stale = GaugeMetricFamily(
            "supplytrack_jobs_stuck",
            "RUNNING jobs whose worker has been silent for longer than JOB_LEASE_SECONDS",
        )
        stale.add_metric([], stuck)
        yield stale
        try:
            checks = list(self._data_checks())
        except Exception:  # the database went away since: its figures wait for the next scrape
            return
        yield from checks

    def _data_checks(self) -> Iterator[Metric]:
        """The newest finished data-check run: rows per check, when, and whether it ran through."""
        with system_scope(), self.database.session_scope(write=False) as connection:
            # The job kind of flows/checks.py (DATA_CHECK_JOB).
            newest = connection.execute(
                text(
                    "SELECT state, result, finished_at FROM jobs WHERE kind = 'DATA_CHECKS'"
                    " AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
                ).columns(finished_at=UTCDateTime())
            ).first()
        failures = GaugeMetricFamily(
            "supplytrack_data_check_failures",
            "Rows each data check found in the newest run (consistency: must be 0)",
            labels=["check", "kind"],
        )
        when = GaugeMetricFamily(
            "supplytrack_data_check_last_run_timestamp_seconds",
            "When the newest data-check run ended (0: none yet)",
        )
        succeeded = GaugeMetricFamily(
            "supplytrack_data_check_run_succeeded",
            "Whether the newest data-check run ran every check (1) or ended early (0)",
        )
        if newest is not None:
            result = newest.result
            if isinstance(result, str):  # JSON as text on SQLite
                result = json.loads(result)
            for check in (result or {}).get("checks", []):
                failures.add_metric([check["name"], check["kind"]], check["failures"])
            when.add_metric([], newest.finished_at.timestamp())
            succeeded.add_metric([], 1 if newest.state == "SUCCEEDED" else 0)
        elif self.database.settings.data_check_interval_minutes > 0:
            when.add_metric([], 0)
        yield failures
        yield when
        yield succeeded

    def _jobs(self, lease_seconds: int) -> tuple[dict[str, int], float, int]:
        now = utcnow()
        with system_scope(), self.database.session_scope(write=False) as connection:
            by_state = {
                str(state): int(count)
                for state, count in connection.execute(
                    text("SELECT state, count(*) FROM jobs GROUP BY state")
                )
            }
            oldest = connection.execute(
                text("SELECT min(created_at) AS oldest FROM jobs WHERE state = 'QUEUED'").columns(
                    oldest=UTCDateTime()
                )
            ).scalar()
            stuck = connection.execute(
                text(
                    "SELECT count(*) FROM jobs WHERE state = 'RUNNING'"
                    " AND (heartbeat_at IS NULL OR heartbeat_at < :cutoff)"
                ).bindparams(
                    bindparam("cutoff", now - timedelta(seconds=lease_seconds), UTCDateTime())
                )
            ).scalar()
        waited = (now - oldest).total_seconds() if oldest is not None else 0.0
        return by_state, max(0.0, waited), int(stuck or 0)


@router.get("/metrics", response_class=Response, responses=responses(401, 403))
def prometheus_metrics(request: Request) -> Response:
    """Prometheus exposition: requests, database pool and queries, jobs, cache, limits, Redis.

    Only from this host, or with METRICS_TOKEN as a bearer token (docs/operations.md).
    """
    database: Database = request.app.state.database
    _may_scrape(request, database.settings)
    body, content_type = metrics.render(ScrapedNow(database))
    return Response(body, media_type=content_type)
