"""install_web(): the pages, their static files and their error pages, on the application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from supplytrack.web.base import HERE, STATIC_URL, page_error
from supplytrack.web.pages import ROUTERS


def install_web(app: FastAPI) -> None:
    """Mount the pages, their static files, and the page form of errors."""
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="web-static")
    app.state.page_errors = page_error
    for router in ROUTERS:
        app.include_router(router)
