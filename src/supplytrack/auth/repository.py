"""Every query of api_tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from supplytrack.auth.models import ApiToken, ApiTokenUsage
from supplytrack.core.db import AnyRow
from supplytrack.suppliers.models import Supplier


def _by_digest() -> Any:
    # The supplier's status rides along: a suspended or inactive supplier's tokens are refused.
    return (
        select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.role,
            ApiToken.supplier_id,
            ApiToken.revoked_at,
            Supplier.status,
            ApiToken.expires_at,
        )
        .outerjoin(Supplier, Supplier.id == ApiToken.supplier_id)
        .where(ApiToken.digest == bindparam("q_digest"))
    )


class TokenLookup:
    """The token lookup of every request, compiled once, on a bare DBAPI cursor (hot path)."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = _by_digest().compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = dialect.name == "sqlite"

    def find(self, cursor: Any, digest: str) -> tuple[Any, ...] | None:
        """(id, name, role, supplier_id, revoked_at, supplier status, expires_at) of the token."""
        cursor.execute(self.sql, (digest,) if self.positional else {"q_digest": digest})
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


@lru_cache(maxsize=4)
def token_lookup(dialect: Dialect) -> TokenLookup:
    """The lookup compiled for a dialect (once per process)."""
    return TokenLookup(dialect)


class TokenRepository:
    """Reads and writes of API tokens (admin-only data: no actor scope)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_digest(self, digest: str) -> AnyRow | None:
        """(id, name, role, supplier_id, revoked_at, supplier status, expires_at) of the token."""
        return self.session.connection().execute(_by_digest(), {"q_digest": digest}).first()

    def get(self, token_id: int) -> ApiToken | None:
        """The token with this id."""
        return self.session.get(ApiToken, token_id)

    def add(self, token: ApiToken) -> ApiToken:
        """Insert a token."""
        self.session.add(token)
        self.session.flush()
        return token

    def page(
        self, *, include_revoked: bool, after_id: int | None, limit: int
    ) -> Sequence[ApiToken]:
        """Tokens in id order, one more than ``limit`` to tell whether a next page exists."""
        stmt = select(ApiToken).order_by(ApiToken.id).limit(limit + 1)
        if not include_revoked:
            stmt = stmt.where(ApiToken.revoked_at.is_(None))
        if after_id is not None:
            stmt = stmt.where(ApiToken.id > after_id)
        return self.session.scalars(stmt).all()

    def last_used(self, token_ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these tokens was last used (those never used are absent)."""
        if not token_ids:
            return {}
        stmt = select(ApiTokenUsage.token_id, ApiTokenUsage.last_used_at).where(
            ApiTokenUsage.token_id.in_(token_ids)
        )
        return {int(token_id): when for token_id, when in self.session.execute(stmt)}

    def touch(self, token_id: int, when: datetime) -> None:
        """Record a use of the token (one upsert)."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(ApiTokenUsage).values(token_id=token_id, last_used_at=when)
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[ApiTokenUsage.token_id],
                set_={"last_used_at": stmt.excluded.last_used_at},
            )
        )

    def expire(self, token_id: int, when: datetime, replaced_by_id: int | None = None) -> None:
        """Let a token run out at ``when`` (or sooner, as it would); and what replaced it."""
        token = self.get(token_id)
        assert token is not None
        if token.expires_at is None or token.expires_at > when:
            token.expires_at = when
        if replaced_by_id is not None:
            token.replaced_by_id = replaced_by_id
        self.session.flush()

    def bound_to(self, supplier_id: int) -> bool:
        """Whether a token was ever bound to the supplier."""
        stmt = select(exists().where(ApiToken.supplier_id == supplier_id))
        return bool(self.session.scalar(stmt))

    def revoke_named(self, prefix: str, when: datetime) -> list[int]:
        """Revoke every live token whose name starts with ``prefix``; their ids."""
        result = self.session.execute(
            update(ApiToken)
            .where(ApiToken.name.startswith(prefix, autoescape=True), ApiToken.revoked_at.is_(None))
            .values(revoked_at=when)
            .returning(ApiToken.id)
        )
        return sorted(result.scalars())

    def revoke(self, token_id: int, when: datetime) -> bool:
        """Mark a live token revoked; False when it was missing or already revoked."""
        result = self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=when)
            .returning(ApiToken.id)
        )
        return result.scalar_one_or_none() is not None
