"""Admin-only tokens API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from supplytrack.api.deps import Admin, DbSession
from supplytrack.auth.models import ApiToken
from supplytrack.auth.schemas import TokenCreate, TokenCreated, TokenRead, TokenRotate
from supplytrack.auth.service import TokenService
from supplytrack.core.openapi import Cursor, Limit, PathId, responses
from supplytrack.core.pagination import DEFAULT_LIMIT, decode_id_cursor, encode_id_cursor
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import Page
from supplytrack.flows import tokens

router = APIRouter(prefix="/api/tokens", tags=["tokens"], route_class=UnitOfWorkRoute)


@router.get("", responses=responses(400, 401, 403, 422))
def list_tokens(
    actor: Admin,
    session: DbSession,
    include_revoked: Annotated[
        bool, Query(alias="includeRevoked", description="List revoked tokens too.")
    ] = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TokenRead]:
    """List API tokens (digests and tokens are never shown)."""
    rows = TokenService(session).page(
        include_revoked=include_revoked, after_id=decode_id_cursor(cursor), limit=limit
    )
    service = TokenService(session)
    used = service.last_used([row.id for row in rows[:limit]])
    items = [_read(row, used.get(row.id)) for row in rows[:limit]]
    next_cursor = encode_id_cursor(items[-1].id) if len(rows) > limit else None
    return Page[TokenRead](items=items, next_cursor=next_cursor)


def _read(token: ApiToken, last_used_at: datetime | None = None) -> TokenRead:
    read = TokenRead.model_validate(token)
    read.last_used_at = last_used_at
    return read


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(401, 403, 404, 413, 422))
def create_token(body: TokenCreate, actor: Admin, session: DbSession) -> TokenCreated:
    """Create a token and show it once (with expiresInDays it stops working then)."""
    expires_in = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, raw = tokens.create_token(
        session, body.name, body.role, body.supplier_id, expires_in, actor
    )
    return TokenCreated.model_validate({**_read(token).model_dump(), "token": raw})


@router.post(
    "/{token_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 413, 422),
)
def rotate_token(
    token_id: PathId, actor: Admin, session: DbSession, body: TokenRotate | None = None
) -> TokenCreated:
    """A new token in the place of this one, which keeps working for graceMinutes (60)."""
    grace = timedelta(minutes=(body or TokenRotate()).grace_minutes)
    token, raw = TokenService(session, actor).rotate(token_id, grace)
    return TokenCreated.model_validate({**_read(token).model_dump(), "token": raw})


@router.delete("/{token_id}", responses=responses(401, 403, 404, 422))
def revoke_token(token_id: PathId, actor: Admin, session: DbSession) -> TokenRead:
    """Revoke a token: from now on it is answered 401."""
    service = TokenService(session, actor)
    token = service.revoke(token_id)
    return _read(token, service.last_used([token.id]).get(token.id))
