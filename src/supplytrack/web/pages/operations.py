"""Pages: operations (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from supplytrack.web.base import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
