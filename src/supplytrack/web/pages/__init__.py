"""The pages, one module per part of the app; ROUTERS is what install_web() mounts."""

from __future__ import annotations

from supplytrack.web import signin
from supplytrack.web.pages import bulk, operations, overview, portal, projects, suppliers, tasks

ROUTERS = (
    signin.router,
    overview.router,
    projects.router,
    suppliers.router,
    tasks.router,
    portal.router,
    bulk.router,
    operations.router,
)
