"""API shapes of tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict

from supplytrack.core.identity import Role
from supplytrack.core.schemas import BodyId, Name, ReadModel, WriteModel


class TokenCreate(WriteModel):
    """A new token: a name for people, a role, and the supplier for supplier tokens."""

    name: Name = Field(description="What the token is for, e.g. 'ERP sync' or a person's name.")
    role: Role = Field(description="admin, manager, viewer or supplier.")
    supplier_id: BodyId | None = Field(
        None, description="Required for (and only for) the supplier role."
    )
    expires_in_days: Annotated[int, Strict(), Field(ge=1, le=3650)] | None = Field(
        None, description="Refused after this many days (default: until revoked)."
    )


class TokenRotate(WriteModel):
    """How long the token being replaced keeps working beside its successor."""

    grace_minutes: Annotated[int, Strict(), Field(ge=0, le=30 * 24 * 60)] = Field(
        60, description="Minutes the old token still works (0: refused at once)."
    )


class TokenRead(ReadModel):
    """A token as listed: never the token itself."""

    id: int = Field(description="Token id.")
    name: str = Field(description="What the token is for.")
    role: Role = Field(description="Its role.")
    supplier_id: int | None = Field(description="The supplier a supplier token is bound to.")
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    created_at: datetime = Field(description="When it was created.")
    revoked_at: datetime | None = Field(description="When it was revoked, if it was.")
    expires_at: datetime | None = Field(description="When it stops working (None: never).")
    replaced_by_id: int | None = Field(description="The token a rotation made in its place.")
    last_used_at: datetime | None = Field(
        None, description="When it was last used (kept to the minute; None: never)."
    )


class TokenCreated(TokenRead):
    """The answer to creating a token: the only time the token itself is shown."""

    token: str = Field(description="The bearer token. Store it now: it is not shown again.")
