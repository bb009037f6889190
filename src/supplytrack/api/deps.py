"""FastAPI dependencies: the request's session and settings, the actor, the role gates."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from supplytrack.auth.exceptions import InvalidToken, RoleForbidden
from supplytrack.auth.service import TokenService
from supplytrack.core.context import current_context
from supplytrack.core.identity import Actor, Role
from supplytrack.core.ratelimit import RateLimiter
from supplytrack.core.routing import get_session
from supplytrack.core.settings import Settings
from supplytrack.flows.base import Flow

DbSession = Annotated[Session, Depends(get_session)]


async def app_settings(request: Request) -> Settings:
    """The application's settings (tests run several applications at once)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]
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


def rate_limited_manager(request: Request, actor: Manager) -> Actor:
    """A manager or admin, within the bulk rate limit of its token (429 beyond)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    limiter.hit(f"bulk:{actor.token_id}")
    return actor


BulkActor = Annotated[Actor, Depends(rate_limited_manager)]


def flow_of(session: Session, actor: Actor, settings: Settings) -> Flow:
    """The surroundings of a flow called by a route."""
    return Flow(session, actor, settings)
