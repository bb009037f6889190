"""The api_tokens table: SHA-256 digests only, never the token itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.identity import Role
from supplytrack.core.models import Base, UTCDateTime, enum_column
from supplytrack.core.time import utcnow

__all__ = ["ApiToken", "ApiTokenUsage", "Role"]


class ApiToken(Base):
    """A bearer token, known by its digest; a supplier token is bound to one supplier."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(
            "(role = 'supplier') = (supplier_id IS NOT NULL)", name="supplier_iff_supplier_role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Refused from this moment on (None: until revoked).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The token a rotation made in this one's place.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))


class ApiTokenUsage(Base):
    """When a token was last used (written at most once a minute per token and process).

    A table of its own: writing it into api_tokens would invalidate every cached token lookup.
    """

    __tablename__ = "api_token_usage"

    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), primary_key=True)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime())
