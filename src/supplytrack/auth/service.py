"""Tokens: create (shown once), authenticate by digest, list, revoke."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.auth.exceptions import InvalidToken, SupplierNotActive
from supplytrack.auth.models import ApiToken
from supplytrack.auth.repository import TokenRepository
from supplytrack.core.errors import BusinessRuleError, NotFound
from supplytrack.core.identity import Actor, Role
from supplytrack.core.time import utcnow

TOKEN_PREFIX = "st_"  # noqa: S105 - a prefix that makes leaked tokens easy to spot
MAX_TOKEN_LENGTH = 200
DEMO_NAME_PREFIX = "demo-"


def digest_of(raw_token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def actor_of(row: Any) -> Actor | None:
    """The actor of a token row (id, name, role, supplier_id, revoked_at, supplier status).

    None when the token is unknown or revoked; SupplierNotActive (403) when it is a supplier's
    and that supplier is SUSPENDED or INACTIVE.
    """
    if row is None or row[4] is not None:
        return None
    role = Role(row[2])
    if role == Role.SUPPLIER and row[5] != "ACTIVE":
        raise SupplierNotActive(row[3], str(row[5]))
    return Actor(row[0], role, row[1], row[3])


class TokenService:
    """The rules of API tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tokens = TokenRepository(session)

    def authenticate(self, raw_token: str) -> Actor:
        """The actor of a live token; unknown and revoked tokens are the same 401."""
        if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
            raise InvalidToken
        actor = actor_of(self.tokens.by_digest(digest_of(raw_token)))
        if actor is None:
            raise InvalidToken
        return actor

    def create(self, name: str, role: Role, supplier_id: int | None) -> tuple[ApiToken, str]:
        """Create a token; the raw token is returned here once and never stored.

        A supplier token's supplier must exist: the flow that calls this has checked.
        """
        if (role == Role.SUPPLIER) != (supplier_id is not None):
            raise BusinessRuleError(
                "a supplier token needs supplierId, and only a supplier token may have one",
                code="SUPPLIER_ID_MISMATCH",
            )
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            name=name, role=role, supplier_id=supplier_id, digest=digest_of(raw), prefix=raw[:10]
        )
        return self.tokens.add(token), raw

    def create_demo_tokens(self, supplier_id: int | None) -> list[tuple[Role, int | None, str]]:
        """Revoke earlier demo tokens; one of each role (a supplier's when one is given)."""
        self.tokens.revoke_named(DEMO_NAME_PREFIX, utcnow())
        wanted: list[tuple[Role, int | None]] = [
            (Role.MANAGER, None),
            (Role.ADMIN, None),
            (Role.VIEWER, None),
        ]
        if supplier_id is not None:
            wanted.append((Role.SUPPLIER, supplier_id))
        created = []
        for role, bound in wanted:
            _, raw = self.create(f"{DEMO_NAME_PREFIX}{role.value}", role, bound)
            created.append((role, bound, raw))
        return created

    def get(self, token_id: int) -> ApiToken:
        """One token by id."""
        token = self.tokens.get(token_id)
        if token is None:
            raise NotFound("token", token_id)
        return token

    def page(
        self, *, include_revoked: bool, after_id: int | None, limit: int
    ) -> Sequence[ApiToken]:
        """Tokens in id order (one more than ``limit``)."""
        return self.tokens.page(include_revoked=include_revoked, after_id=after_id, limit=limit)

    def bound_to(self, supplier_id: int) -> bool:
        """Whether any token (live or revoked) was ever bound to the supplier."""
        return self.tokens.bound_to(supplier_id)

    def revoke(self, token_id: int) -> ApiToken:
        """Revoke a token; revoking an already revoked one is harmless."""
        token = self.get(token_id)
        self.tokens.revoke(token_id, utcnow())
        self.session.refresh(token)
        return token
