"""The one error type every layer raises, and the envelope it becomes over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SupplyTrackError(Exception):
    """A failure the client should hear about, with its HTTP status and stable code."""

    status: int = 400
    code: str = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Sequence[Any] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = list(details)
        self.headers = headers or {}


class BadRequest(SupplyTrackError):
    """Malformed input (400)."""

    status = 400
    code = "BAD_REQUEST"


class Unauthorized(SupplyTrackError):
    """No token, or a token that is unknown or revoked (401)."""

    status = 401
    code = "UNAUTHORIZED"


class Forbidden(SupplyTrackError):
    """The actor's role may not do this (403)."""

    status = 403
    code = "FORBIDDEN"


class NotFound(SupplyTrackError):
    """Missing, or not visible to this actor: the two are indistinguishable (404)."""

    status = 404
    code = "NOT_FOUND"

    def __init__(self, resource: str, identifier: object) -> None:
        super().__init__(f"{resource} {identifier} was not found", details=[])


class Conflict(SupplyTrackError):
    """The request conflicts with the current state (409)."""

    status = 409
    code = "CONFLICT"


class PreconditionFailed(SupplyTrackError):
    """If-Match named a version that is no longer current (412)."""

    status = 412
    code = "PRECONDITION_FAILED"


class PayloadTooLarge(SupplyTrackError):
    """The request body is over the configured limit (413)."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"


class BusinessRuleError(SupplyTrackError):
    """Valid JSON that breaks a rule of the domain (422)."""

    status = 422
    code = "VALIDATION_ERROR"


class RateLimited(SupplyTrackError):
    """Too many requests (429)."""

    status = 429
    code = "RATE_LIMITED"


class ServiceUnavailable(SupplyTrackError):
    """The database (or Redis) cannot be reached right now (503)."""

    status = 503
    code = "SERVICE_UNAVAILABLE"


class DatabaseTimeout(ServiceUnavailable):
    """The request's time for database work ran out (503, with Retry-After)."""

    code = "DATABASE_TIMEOUT"

    def __init__(self) -> None:
        super().__init__(
            "the database did not answer in time; retry shortly", headers={"Retry-After": "2"}
        )
