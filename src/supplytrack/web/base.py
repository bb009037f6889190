"""What every page shares: the signed-in actor, the templates, forms with CSRF, the answer.

Pages are FastAPI routes of the same application. They resolve the session cookie through
the API's own token lookup (api/deps.py), so roles, supplier scope, rate limits and the
access log are the API's; they call flows and services, never repositories.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from supplytrack.api.deps import DATABASE_ERRORS, actor_of_digest, admit
from supplytrack.audit.access import note_access
from supplytrack.core.db import Database
from supplytrack.core.errors import BadRequest, Forbidden, SupplyTrackError
from supplytrack.core.identity import Actor, Role
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.settings import Settings
from supplytrack.web import session as cookies

HERE = Path(__file__).parent
STATIC_URL = "/static/web"
# Scripts and styles only from our own files; inline SVG charts need nothing more.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# "same-origin", not the API's "no-referrer": with no-referrer Chromium sends "Origin: null"
# on a form's POST, and the CSRF check could not tell our forms from anyone's.
PAGE_HEADERS = {"content-security-policy": PAGE_CSP, "referrer-policy": "same-origin"}
MAX_FORM_FIELDS = 200

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(SupplyTrackError):
    """No valid session: the page answers with the sign-in page (a redirect)."""

    status = 401
    code = "SIGN_IN_REQUIRED"


class CsrfRejected(SupplyTrackError):
    """A form without this session's secret, or from another origin (403)."""

    status = 403
    code = "CSRF_REJECTED"


class PageRoute(UnitOfWorkRoute):
    """A page: one unit of work like an API route, with errors answered as pages."""

    page = True


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the templates see them."""

    actor: Actor
    csrf: str

    @property
    def role(self) -> str:
        """admin, manager, viewer or supplier."""
        return self.actor.role.value

    @property
    def is_supplier(self) -> bool:
        """Whether this is a supplier's token (sees its own supplier only)."""
        return self.actor.role is Role.SUPPLIER

    @property
    def is_staff(self) -> bool:
        """Admin, manager or viewer: reads everything."""
        return not self.is_supplier

    @property
    def can_plan(self) -> bool:
        """Admin or manager: moves dates, runs bulk shifts."""
        return self.actor.role in (Role.ADMIN, Role.MANAGER)

    @property
    def is_admin(self) -> bool:
        """Sees the operations page."""
        return self.actor.role is Role.ADMIN


def settings_of(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def signed_in(request: Request) -> Viewer:
    """Dependency: the viewer of a valid session cookie (else SignInRequired)."""
    settings = settings_of(request)
    now = time.time()
    session = cookies.decode(settings, request.cookies.get(cookies.SESSION_COOKIE), now)
    if session is None:
        raise SignInRequired("sign in to open this page")
    database: Database = request.app.state.database
    try:
        actor = actor_of_digest(database, session.digest)
    except DATABASE_ERRORS as error:
        raise SupplyTrackError(
            "the database cannot be reached right now; retry shortly",
            status=503,
            code="DATABASE_UNAVAILABLE",
            headers={"Retry-After": "2"},
        ) from error
    if actor is None:  # revoked, expired, or the supplier suspended
        raise SignInRequired("your session has ended; sign in again")
    note_access(database, actor)
    admit(request.app.state.rate_limiter, actor)
    if session.stale(now):
        request.state.web_session = session.touched(now)
    viewer = Viewer(actor=actor, csrf=session.csrf)
    request.state.viewer = viewer  # an error page keeps the navigation
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]


def require_page(*roles: Role) -> Any:
    """A dependency that lets only these roles open the page (403 page otherwise)."""

    async def gate(viewer: SignedIn) -> Viewer:
        if viewer.actor.role not in roles:
            raise Forbidden("your role cannot open this page")
        return viewer

    return Depends(gate)


StaffViewer = Annotated[Viewer, require_page(Role.ADMIN, Role.MANAGER, Role.VIEWER)]
PlannerViewer = Annotated[Viewer, require_page(Role.ADMIN, Role.MANAGER)]
AdminViewer = Annotated[Viewer, require_page(Role.ADMIN)]
TaskViewer = Annotated[Viewer, require_page(Role.ADMIN, Role.MANAGER, Role.SUPPLIER)]


def same_origin(request: Request) -> bool:
    """Whether the browser says the form came from this site (Origin, when it sends one)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of an application/x-www-form-urlencoded body (the last value of each)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise SupplyTrackError(
            "forms are sent as application/x-www-form-urlencoded",
            status=415,
            code="UNSUPPORTED_MEDIA_TYPE",
        )
    body = await request.body()  # capped by MAX_BODY_BYTES in the middleware
    try:
        parsed = parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest("the form could not be read") from error
    return {name: values[-1] for name, values in parsed.items()}


async def posted(request: Request, viewer: SignedIn) -> dict[str, str]:
    """Dependency of every form: its fields, after the CSRF checks (403 otherwise)."""
    fields = await form_fields(request)
    if not same_origin(request) or not cookies.same_secret(fields.get("csrf"), viewer.csrf):
        raise CsrfRejected("the form has expired or came from another site; open the page again")
    return fields


Posted = Annotated[dict[str, str], Depends(posted)]


def field(fields: dict[str, str], name: str, *, required: bool = True, limit: int = 2000) -> str:
    """A form field, trimmed; a 422 naming it when it is missing or too long."""
    value = fields.get(name, "").strip()
    if required and not value:
        raise SupplyTrackError(f"{name} is required", status=422, code="VALIDATION_ERROR")
    if len(value) > limit:
        raise SupplyTrackError(
            f"{name} is longer than {limit} characters", status=422, code="VALIDATION_ERROR"
        )
    return value


def _with_cookie(request: Request, response: Response) -> Response:
    refreshed: cookies.WebSession | None = getattr(request.state, "web_session", None)
    if refreshed is not None:
        set_session_cookie(request, response, refreshed)
    return response


def set_session_cookie(request: Request, response: Response, session: cookies.WebSession) -> None:
    """Put the session in the browser: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    settings = settings_of(request)
    response.set_cookie(
        cookies.SESSION_COOKIE,
        cookies.encode(settings, session),
        max_age=int(settings.web_session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookies.secure_cookie(settings, request.url.scheme),
    )


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page from its template, with the page CSP (and the session's idle clock reset)."""
    html = templates.get_template(template).render(
        viewer=viewer, static=STATIC_URL, path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    return _with_cookie(request, response)  # type: ignore[return-value]


def redirect(request: Request, target: str) -> Response:
    """303 to a page of ours after a form (Post/Redirect/Get)."""
    return _with_cookie(request, RedirectResponse(target, status_code=303))


def local_target(target: str | None, default: str = "/") -> str:
    """A path on this site to go to after sign-in (never another site's address)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def sign_in_address(request: Request) -> str:
    """The sign-in page, coming back here after."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/signin?next=" + quote(here, safe="")


# Envelope messages that speak of HTTP headers, said for someone using a form.
_FOR_PEOPLE = {
    "PRECONDITION_FAILED": "Someone changed this since you opened the page. Open it again to see"
    " the current state, then make your change.",
}


def page_error(
    request: Request, status: int, code: str, message: str, headers: dict[str, str]
) -> Response:
    """An error of a page as a page (core/handlers.py calls this for page requests)."""
    if code == SignInRequired.code:
        target = sign_in_address(request) if request.method == "GET" else "/signin"
        away = RedirectResponse(target, status_code=303)
        away.delete_cookie(cookies.SESSION_COOKIE, path="/")
        return away
    back = (request.url.path.rsplit("/", 1)[0] or "/") if request.method == "POST" else "/"
    message = _FOR_PEOPLE.get(code, message)
    response = render(
        request,
        "error.html",
        getattr(request.state, "viewer", None),
        status=status,
        status_code=status,
        code=code,
        message=message,
        back=back,
    )
    for name in ("retry-after", "allow"):
        if name in headers:
            response.headers[name] = headers[name]
    return response
