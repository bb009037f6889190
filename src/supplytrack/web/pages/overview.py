"""Pages: the projects overview at ``/`` (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from supplytrack.web.base import PageRoute, SignedIn, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def overview(request: Request, viewer: SignedIn) -> Response:
    """Staff: every project at a glance. Suppliers go to their portal."""
    if viewer.is_supplier:
        return redirect(request, "/portal")
    return render(request, "overview.html", viewer)
