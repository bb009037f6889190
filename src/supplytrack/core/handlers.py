"""Turn every error into SPEC's envelope: {"error": {code, message, details, requestId}}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import exc
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from supplytrack.core.context import current_request_id
from supplytrack.core.db import is_timeout, is_unavailable
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.schemas import DATE_OUT_OF_RANGE
from supplytrack.core.time import FIRST_DAY, LAST_DAY

log = logging.getLogger("supplytrack.errors")

RETRY_AFTER_SECONDS = "2"
_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def error_body(code: str, message: str, details: list[Any] | None = None) -> bytes:
    """Serialise the error envelope."""
    return orjson.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "details": details or [],
                "requestId": current_request_id(),
            }
        }
    )


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error envelope as a JSON response."""
    return Response(
        error_body(code, message, details),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _validation_details(error: RequestValidationError) -> tuple[int, str, list[Any]]:
    details: list[Any] = []
    malformed = False
    for item in error.errors():
        if item.get("type") == "json_invalid":
            malformed = True
        # Never echo the input back: it may be 10,000 characters or somebody's secret.
        details.append(
            {
                "loc": [str(part) for part in item.get("loc", ())],
                "msg": str(item.get("msg", "")),
                "type": str(item.get("type", "")),
            }
        )
    if malformed:
        return 400, "MALFORMED_JSON", details
    if details and all(item["type"] == DATE_OUT_OF_RANGE for item in details):
        return 422, DATE_OUT_OF_RANGE, details
    return 422, "VALIDATION_ERROR", details


async def _on_domain_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, SupplyTrackError)
    return error_response(error.status, error.code, error.message, error.details, error.headers)


async def _on_validation_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    status, code, details = _validation_details(error)
    message = "request body is not valid JSON" if status == 400 else "request is not valid"
    if code == DATE_OUT_OF_RANGE:
        message = f"dates must lie between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
    return error_response(status, code, message, details)


async def _on_model_error(_request: Request, error: Exception) -> Response:
    """A command built from input inside a route (a page's form) that its model refused."""
    assert isinstance(error, ValidationError)
    details = [
        {
            "loc": [str(part) for part in item.get("loc", ())],
            "msg": str(item.get("msg", "")),
            "type": str(item.get("type", "")),
        }
        for item in error.errors()
    ]
    return error_response(422, "VALIDATION_ERROR", _first_message(details), details)


def _first_message(details: list[dict[str, Any]]) -> str:
    if not details:
        return "request is not valid"
    first = details[0]
    where = ".".join(first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code = _STATUS_CODES.get(error.status_code, "HTTP_ERROR")
    message = error.detail if isinstance(error.detail, str) else code.lower()
    headers = dict(error.headers or {})
    if error.status_code == 400 and message == "There was an error parsing the body":
        # FastAPI's answer to a body it cannot even decode (not UTF-8).
        code, message = "MALFORMED_JSON", "request body is not valid UTF-8 JSON"
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(error.status_code, code, message, headers=headers or None)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (routes are split by method)."""
    methods: set[str] = set()
    pending = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        included = getattr(route, "original_router", None)
        if included is not None:  # an included router: look at its routes
            pending.extend(included.routes)
            continue
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _on_database_error(_request: Request, error: Exception) -> Response:
    return database_error_response(error)


_UNREACHABLE = {
    "timeout": ("DATABASE_TIMEOUT", "the database did not answer in time; retry shortly"),
    "away": ("DATABASE_UNAVAILABLE", "the database cannot be reached right now; retry shortly"),
}


def database_error_response(error: Exception) -> Response:
    """The answer to a database error that reached the edge (503, 409 or 500)."""
    unreachable = _UNREACHABLE["timeout" if is_timeout(error) else "away"]
    if is_unavailable(error):
        code, message = unreachable
        log.warning("database %s: %s", code.lower(), type(error).__name__)
        return error_response(503, code, message, headers={"Retry-After": RETRY_AFTER_SECONDS})
    if isinstance(error, exc.IntegrityError):
        return error_response(
            409, "CONFLICT", "the change conflicts with existing data (a duplicate or a reference)"
        )
    if isinstance(error, StaleDataError):
        return error_response(
            409, "CONCURRENT_UPDATE", "the row was changed by someone else meanwhile; retry"
        )
    if isinstance(error, exc.DBAPIError) and getattr(error.orig, "sqlstate", None) in {
        "40001",
        "40P01",
        "55P03",
    }:
        return error_response(
            409,
            "CONCURRENT_UPDATE",
            "the change collided with another; retry",
            headers={"Retry-After": "1"},
        )
    log.error("database error", exc_info=error, extra={"request_id": current_request_id()})
    return error_response(500, "INTERNAL_ERROR", "internal error; quote the request id")


# A page renders its errors as a page: (request, status, code, message, headers) -> Response.
PageErrors = Callable[[Request, int, str, str, dict[str, str]], Response]
_NOT_PAGES = ("/api/", "/static/", "/metrics", "/openapi.json", "/docs", "/healthz", "/readyz")


def wants_page(request: Request) -> bool:
    """Whether an error should be answered as a page: a page's route, or a browser's address."""
    route = request.scope.get("route")
    if route is not None:
        return bool(getattr(route, "page", False))
    path = request.url.path
    accept = request.headers.get("accept", "")
    return not path.startswith(_NOT_PAGES) and "text/html" in accept


def _paged(
    handler: Callable[[Request, Exception], Awaitable[Response]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The handler, whose envelope becomes a page for page requests (when pages are served)."""

    async def handle(request: Request, error: Exception) -> Response:
        response = await handler(request, error)
        page_errors: PageErrors | None = getattr(request.app.state, "page_errors", None)
        if page_errors is None or not wants_page(request):
            return response
        envelope = orjson.loads(bytes(response.body))["error"]
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in {"content-length", "content-type"}
        }
        return page_errors(
            request, response.status_code, envelope["code"], envelope["message"], headers
        )

    return handle


def install_error_handlers(app: FastAPI) -> None:
    """Register the envelope handlers (unexpected errors are caught by the middleware)."""
    app.add_exception_handler(SupplyTrackError, _paged(_on_domain_error))
    app.add_exception_handler(RequestValidationError, _paged(_on_validation_error))
    app.add_exception_handler(StarletteHTTPException, _paged(_on_http_error))
    app.add_exception_handler(ValidationError, _paged(_on_model_error))
    app.add_exception_handler(exc.SQLAlchemyError, _paged(_on_database_error))
