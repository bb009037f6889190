"""Sign-in with an API token into a session cookie, and sign-out."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supplytrack.api.deps import DATABASE_ERRORS, admit, find_actor
from supplytrack.auth.service import digest_of
from supplytrack.core.db import Database
from supplytrack.web import session as cookies
from supplytrack.web.base import (
    CsrfRejected,
    PageRoute,
    Posted,
    form_fields,
    local_target,
    render,
    same_origin,
    set_session_cookie,
    settings_of,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _form(request: Request, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    settings = settings_of(request)
    secret = secrets.token_urlsafe(24)
    response = render(
        request,
        "signin.html",
        None,
        status=status,
        csrf=secret,
        next=local_target(request.query_params.get("next")),
        error=error,
        idle_minutes=int(settings.web_session_idle_minutes),
        hours=int(settings.web_session_hours),
    )
    response.set_cookie(
        cookies.SIGNIN_COOKIE,
        secret,
        max_age=3600,
        path="/signin",
        httponly=True,
        samesite="lax",
        secure=cookies.secure_cookie(settings, request.url.scheme),
    )
    return response


@router.get("/signin")
def signin_page(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return _form(request)


async def _signin_fields(request: Request) -> dict[str, str]:
    fields = await form_fields(request)
    expected = request.cookies.get(cookies.SIGNIN_COOKIE)
    if (
        not same_origin(request)
        or expected is None
        or not cookies.same_secret(fields.get("csrf"), expected)
    ):
        raise CsrfRejected("the sign-in form has expired; open it again")
    return fields


@router.post("/signin")
async def signin(
    request: Request, fields: Annotated[dict[str, str], Depends(_signin_fields)]
) -> Response:
    """Check the token; on success, a session cookie and a redirect to where the user was going."""
    token = fields.get("token", "").strip()
    database: Database = request.app.state.database
    try:
        actor = find_actor(database, token) if token else None
    except DATABASE_ERRORS:
        return _form(
            request, error="The database cannot be reached right now; retry shortly.", status=503
        )
    if actor is None:
        # One message for unknown, revoked and expired tokens: nothing to learn by guessing.
        return _form(
            request, error="That token was not accepted. Check it and try again.", status=401
        )
    admit(request.app.state.rate_limiter, actor)
    target = local_target(fields.get("next"), "/" if actor.supplier_id is None else "/portal")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, cookies.new_session(digest_of(token), time.time()))
    response.delete_cookie(cookies.SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, _fields: Posted) -> Response:
    """End the session in this browser."""
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(cookies.SESSION_COOKIE, path="/")
    return response
