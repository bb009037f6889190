"""OpenAPI helpers: the documented error answers of a route, and reusable parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Query

from supplytrack.core.pagination import MAX_LIMIT
from supplytrack.core.schemas import MAX_ID, ErrorEnvelope

_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad cursor, bad sort).",
    401: "No token, or an unknown or revoked one.",
    403: "The token's role may not do this, or its supplier is not ACTIVE.",
    404: "Not found, or not visible to this token.",
    409: "Conflicts with the current state.",
    412: "If-Match names a version that is no longer current.",
    413: "Request body too large.",
    422: "Validation or business-rule failure.",
    429: "Rate limited (see Retry-After and the RateLimit-* fields; docs/api.md).",
    503: "Database unavailable (see Retry-After).",
}
# Every route may answer these whatever it does (403: a supplier token whose supplier is not
# ACTIVE; 429: every route counts its requests).
_ALWAYS = (400, 401, 403, 413, 429, 503)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents (plus those every route may give)."""
    return {
        code: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[code]}
        for code in sorted({*codes, *_ALWAYS})
    }


PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Numeric id.")]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-500).")]
Cursor = Annotated[
    str | None, Query(max_length=1000, description="nextCursor of the previous page.")
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=40, description="ETag from a GET; 412 if stale."),
]
