"""FastAPI dependencies: the request's session and settings, the actor, the role gates."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import exc
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from supplytrack.api.cached import TOKENS
from supplytrack.audit.access import note_access
from supplytrack.auth.exceptions import InvalidToken, RoleForbidden
from supplytrack.auth.repository import token_lookup
from supplytrack.auth.service import (
    MAX_TOKEN_LENGTH,
    USAGE,
    TokenService,
    actor_of,
    digest_of,
    expiry_of,
    misspelt,
)
from supplytrack.core.context import current_context
from supplytrack.core.db import Database, budget_left
from supplytrack.core.errors import DatabaseTimeout, RateLimited
from supplytrack.core.identity import Actor, Role
from supplytrack.core.ratelimit import RateLimiter
from supplytrack.core.routing import get_session
from supplytrack.core.rowsecurity import actor_scope, lookup_scope, scoped_as
from supplytrack.core.settings import Settings
from supplytrack.flows.base import Flow

DbSession = Annotated[Session, Depends(get_session)]


async def app_settings(request: Request) -> Settings:
    """The application's settings (tests run several applications at once)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]
_bearer = HTTPBearer(auto_error=False, description="An API token: Authorization: Bearer st_...")


# Where api/warm.py puts its actor in the ASGI scope (only this process can put anything there).
WARM_ACTOR_KEY = "supplytrack.warm_actor"

# A bare cursor raises the drivers' own errors; the pool raises SQLAlchemy's.
DATABASE_ERRORS = (sqlite3.Error, psycopg.Error, exc.DBAPIError, exc.TimeoutError)


def find_actor(database: Database, raw_token: str) -> Actor | None:
    """The actor of a live token: from the cache, else from the process's bare reader.

    Every request asks this first, on the event loop. The cached row (without REDIS_URL,
    where the board is a memory-mapped file) is keyed by the generations of the tokens and
    suppliers tables, so a revocation (or a supplier's suspension) is seen by the very next
    request, on every worker. Unknown tokens are never cached. Raises the database's errors
    (DATABASE_ERRORS) after discarding the reader's connection.
    """
    if len(raw_token) > MAX_TOKEN_LENGTH or misspelt(raw_token):
        return None  # not one of ours: no lookup
    return actor_of_digest(database, digest_of(raw_token))


def actor_of_digest(database: Database, digest: str) -> Actor | None:
    """The actor of the live token with this digest (find_actor; a web session keeps one)."""
    if database.cache.shared:
        # With Redis the board alone is a round trip, as dear as the lookup it would save
        # (measured: bench/cache.py); the lookup stays one indexed read.
        actor = actor_of(_token_row(database, digest))
    else:
        row = database.cache.get(
            "tokens",
            digest,
            TOKENS,
            lambda: _token_row(database, digest),
            dump=orjson.dumps,
            load=orjson.loads,
            keep=_known,
        )
        actor = actor_of(row)
    if actor is not None:
        _note_use(database, actor.token_id)
    return actor


def _note_use(database: Database, token_id: int | None) -> None:
    """Have the token's last use written after the answer, at most once a minute (per process)."""
    context = current_context()
    if token_id is None or context is None or not USAGE.due(token_id):
        return

    def write() -> None:
        with database.session_scope() as session:
            TokenService(session).record_use(token_id)

    context.after_response.append(write)


def _known(row: Sequence[Any] | None) -> bool:
    return row is not None


def _token_row(database: Database, digest: str) -> Sequence[Any] | None:
    """(id, name, role, supplier_id, revoked, supplier status, expiry) of the digest's token."""
    reader = database.raw_reader
    lookup = token_lookup(database.engine.dialect)
    try:
        cursor = reader.cursor(lookup_scope(digest))
        try:
            row = lookup.find(cursor, digest)
        finally:
            cursor.close()
    except DATABASE_ERRORS:
        reader.discard()
        raise
    if row is None:
        return None
    revoked = None if row[4] is None else True
    return (row[0], row[1], str(row[2]), row[3], revoked, row[5], expiry_of(row[6]))


def admit(limiter: RateLimiter, actor: Actor, *, bulk: bool = False) -> None:
    """Name the actor in the request's context and count the request against its limits.

    The context names the actor in the log line and the audit rows; the RateLimit fields go
    on the answer, and beyond a limit the answer is 429.
    """
    context = current_context()
    if context is not None:
        context.scope = actor_scope(actor.role.value, actor.supplier_id, actor.token_id)
        if context.admitted and not bulk:
            return  # counted on the fast path, which then handed the request on
        context.actor_id = actor.token_id
        context.actor_label = actor.label
    try:
        headers = limiter.admit(limiter.rules(actor, bulk=bulk))
    except RateLimited:
        if context is not None:
            context.response_headers = []  # the refusal carries its own fields
        raise
    if context is not None:
        context.admitted = True
        if headers:
            context.response_headers = headers  # the bulk rule, counted after, replaces these


async def authenticated_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Resolve ``Authorization: Bearer <token>`` into the calling actor (401 otherwise)."""
    warming: Actor | None = request.scope.get(WARM_ACTOR_KEY)
    if warming is not None:
        context = current_context()
        if context is not None:  # its reads see what the actor would see (row-level security)
            context.scope = actor_scope(warming.role.value, warming.supplier_id, warming.token_id)
        return warming
    if credentials is None or not credentials.credentials.strip():
        raise InvalidToken
    raw_token = credentials.credentials.strip()
    database: Database = request.app.state.database
    try:
        actor = find_actor(database, raw_token)
    except DATABASE_ERRORS as error:
        if not budget_left():
            raise DatabaseTimeout from error  # no time left to ask again
        # Ask again through a session, in the thread pool: its errors are SQLAlchemy's, which
        # the route retries or answers with 503 like any other.
        actor = await run_in_threadpool(_through_session, database, raw_token)
    if actor is None:
        raise InvalidToken
    note_access(database, actor)
    admit(request.app.state.rate_limiter, actor)
    return actor


def _through_session(database: Database, raw_token: str) -> Actor:
    with (
        scoped_as(lookup_scope(digest_of(raw_token))),
        database.session_scope(write=False) as session,
    ):
        return TokenService(session).authenticate(raw_token)


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
AuditReader = Annotated[Actor, Depends(require(Role.ADMIN, Role.VIEWER))]


def rate_limited_manager(request: Request, actor: Manager) -> Actor:
    """A manager or admin, within the bulk rate limit of its token too (429 beyond)."""
    admit(request.app.state.rate_limiter, actor, bulk=True)
    return actor


BulkActor = Annotated[Actor, Depends(rate_limited_manager)]


def flow_of(session: Session, actor: Actor, settings: Settings) -> Flow:
    """The surroundings of a flow called by a route."""
    return Flow(session, actor, settings)
