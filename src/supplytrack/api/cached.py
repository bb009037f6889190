"""Cached reads of the routes: keyed by path, query, scope and day; see core/cache.py.

A supplier's reads are keyed by its supplier (and depend on its assignments); staff share one
entry. Errors are never cached: a 404 or 422 is worked out again each time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel

from supplytrack.core.cache import Cache
from supplytrack.core.db import Database
from supplytrack.core.identity import Actor
from supplytrack.core.time import today

M = TypeVar("M", bound=BaseModel)

SUPPLIERS = ("suppliers", "supplier_capabilities")
PROJECTS = ("projects",)
TEMPLATES = ("projects", "task_templates", "task_template_dependencies")
CALENDARS = ("projects", "project_calendars", "project_holidays")
REPORTS = (
    "projects",
    "suppliers",
    "supplier_projects",
    "task_templates",
    "task_instances",
    "task_instance_history",
)
TOKENS = ("api_tokens", "suppliers")


def scope_of(actor: Actor) -> str:
    """Whose view a cached value is: one supplier's, or every staff member's."""
    return f"supplier{actor.supplier_id}" if actor.is_supplier else "staff"


def read_key(path: str, query: Sequence[tuple[str, str]], scope: str, day: str) -> str:
    """The cache key of a GET: its path, its query in a canonical order, the scope and day."""
    canonical = "&".join(f"{name}={value}" for name, value in sorted(query))
    return f"{path}?{canonical}|{scope}|{day}"


def dependencies(tables: Sequence[str], actor: Actor) -> tuple[str, ...]:
    """The tables a read depends on; a supplier's also on its assignments."""
    return (*tables, "supplier_projects") if actor.is_supplier else tuple(tables)


def cached_model(
    request: Request,
    actor: Actor,
    namespace: str,
    tables: Sequence[str],
    kind: type[M],
    create: Callable[[], M],
) -> M:
    """The route's answer from the cache, or ``create()`` (and then cached)."""
    database: Database = request.app.state.database
    key = read_key(
        request.url.path,
        request.query_params.multi_items(),
        scope_of(actor),
        today(database.settings.app_timezone).isoformat(),
    )
    cache: Cache = database.cache
    return cache.model(namespace, key, dependencies(tables, actor), kind, create)


def cached_report(request: Request, actor: Actor, kind: type[M], create: Callable[[], M]) -> M:
    """A report from the cache, except when reports are read from a replica.

    A replica lags the primary, whose commits bump the generations: a report computed from
    it just after a bump could be cached under the new generation with the old figures.
    """
    database: Database = request.app.state.database
    if database.settings.database_read_url:
        return create()
    return cached_model(request, actor, "reports", REPORTS, kind, create)
