"""HTTP helpers shared by routers: ETags and If-Match."""

from __future__ import annotations

from fastapi import Response

from supplytrack.core.errors import BadRequest, PreconditionFailed


def etag_of(version: int) -> str:
    """The ETag of a resource at ``version``."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    """Put the resource's ETag on the response."""
    response.headers["ETag"] = etag_of(version)


def expected_version(if_match: str | None) -> int | None:
    """Parse If-Match into the version the client expects (None when absent or ``*``)."""
    if if_match is None:
        return None
    value = if_match.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise BadRequest("If-Match must be an ETag returned by this API", code="INVALID_IF_MATCH")
    return int(value)


def check_version(current: int, expected: int | None, resource: str) -> None:
    """Refuse with 412 when the client's If-Match no longer names the current version."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"{resource} has changed since you read it (version {current}, If-Match {expected});"
            " read it again and retry",
            details=[{"currentVersion": current, "expectedVersion": expected}],
        )
