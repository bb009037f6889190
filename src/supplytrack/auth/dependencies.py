"""FastAPI dependencies: the authenticated actor and the role gates."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from supplytrack.auth.actor import Actor
from supplytrack.auth.exceptions import InvalidToken, RoleForbidden
from supplytrack.auth.models import Role
from supplytrack.auth.service import TokenService
from supplytrack.core.context import current_context
from supplytrack.core.routing import get_session

DbSession = Annotated[Session, Depends(get_session)]


_bearer = HTTPBearer(auto_error=False, description="An API token: Authorization: Bearer st_...")


def authenticated_actor(
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Resolve ``Authorization: Bearer <token>`` into the calling actor (401 otherwise)."""
    if credentials is None or not credentials.credentials.strip():
        raise InvalidToken
    actor = TokenService(session).authenticate(credentials.credentials.strip())
    context = current_context()
    if context is not None:
        context.actor_id = actor.token_id
        context.actor_label = actor.label
    return actor


def require(*roles: Role) -> Callable[[Actor], Coroutine[Any, Any, Actor]]:
    """A dependency that lets only the given roles through (403 for the others)."""
    allowed = [role.value for role in roles]

    async def gate(actor: Annotated[Actor, Depends(authenticated_actor)]) -> Actor:
        if actor.role not in roles:
            raise RoleForbidden(actor.role.value, allowed)
        return actor

    return gate


# Anyone with a token; suppliers are narrowed to their own data by the repositories.
AnyActor = Annotated[Actor, Depends(require(Role.ADMIN, Role.MANAGER, Role.VIEWER, Role.SUPPLIER))]
# Internal staff who read everything.
StaffReader = Annotated[Actor, Depends(require(Role.ADMIN, Role.MANAGER, Role.VIEWER))]
# Those who change project data.
Manager = Annotated[Actor, Depends(require(Role.ADMIN, Role.MANAGER))]
# Those who move task instances along the status machine.
TaskWriter = Annotated[Actor, Depends(require(Role.ADMIN, Role.MANAGER, Role.SUPPLIER))]
Admin = Annotated[Actor, Depends(require(Role.ADMIN))]
