"""create_app(): the FastAPI application with its middleware, routers and error handlers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from supplytrack import __version__
from supplytrack.api.access_log import audit_router
from supplytrack.api.access_log import router as access_log_router
from supplytrack.api.bulk import router as bulk_router
from supplytrack.api.calendars import router as calendars_router
from supplytrack.api.checks import router as checks_router
from supplytrack.api.compliance import router as compliance_router
from supplytrack.api.exports import router as exports_router
from supplytrack.api.fast import FastRoutes
from supplytrack.api.jobs import router as jobs_router
from supplytrack.api.projects import router as projects_router
from supplytrack.api.reports import router as reports_router
from supplytrack.api.suppliers import assignments_router
from supplytrack.api.suppliers import router as suppliers_router
from supplytrack.api.tasks import router as tasks_router
from supplytrack.api.templates import router as templates_router
from supplytrack.api.tokens import router as tokens_router
from supplytrack.api.warm import warm
from supplytrack.core.db import Database, call_budget
from supplytrack.core.docs import install_docs
from supplytrack.core.handlers import install_error_handlers
from supplytrack.core.health import router as health_router
from supplytrack.core.logging import configure_logging
from supplytrack.core.middleware import RequestMiddleware
from supplytrack.core.ratelimit import RateLimiter
from supplytrack.core.settings import Settings, get_settings
from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the bulk job kinds
from supplytrack.web.app import install_web

log = logging.getLogger("supplytrack.cache")

DESCRIPTION = """
Supplier launch programs: milestones planned once per project, fanned out to every supplier,
tracked per supplier with an audit trail.

Authenticate with `Authorization: Bearer <token>`. Errors always have the shape
`{"error": {"code", "message", "details", "requestId"}}`. Lists take `limit` (1-500) and
`cursor` (the `nextCursor` of the previous page). Single resources carry an `ETag`; send it
back in `If-Match` on PATCH, PUT and DELETE to be told (412) when someone changed it meanwhile.
"""


async def _warm(app: FastAPI) -> None:
    try:
        await warm(app)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("cache warming failed; reads fill the cache as they come")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the application; tests pass their own settings and database."""
    settings = settings or get_settings()
    owns_database = database is None
    database = database or Database(settings)
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Warm while already serving: a slow report must not hold the server's start back.
        warming = asyncio.create_task(_warm(app)) if settings.cache_warm else None
        yield
        if warming is not None:
            warming.cancel()
            await asyncio.gather(warming, return_exceptions=True)
        if owns_database:
            database.dispose()

    app = FastAPI(
        title="supplytrack",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # core/docs.py: offline, from a package, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.database = database
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings)
    install_error_handlers(app)
    install_docs(app)
    install_web(app)
    for router in (
        health_router,
        bulk_router,
        jobs_router,
        projects_router,
        assignments_router,
        suppliers_router,
        templates_router,
        calendars_router,
        tasks_router,
        tokens_router,
        reports_router,
        compliance_router,
        checks_router,
        access_log_router,
        audit_router,
        exports_router,
    ):
        app.include_router(router)
    if settings.fast_paths:
        # Inside RequestMiddleware (request ids, logs, metrics, rate-limit fields).
        app.add_middleware(FastRoutes, database=database, limiter=app.state.rate_limiter)
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        database_budget=call_budget(settings),
    )
    return app
