"""Row-level security on PostgreSQL: whose rows each transaction may see, told to the server.

The policies (migration 0010, docs/decisions/0014-row-level-security.md) read four settings:
``supplytrack.role``, ``supplytrack.supplier_id``, ``supplytrack.token_id`` and
``supplytrack.token`` (a token's digest, while a request's token is being looked up). Every
transaction sets them with ``set_config(..., true)`` before its first statement, so they end
with the transaction and never ride a pooled connection into the next request.

Who the scope is comes from where the code runs, not from what a repository remembers:

- inside a request whose actor is known: that actor (a supplier sees its own rows only);
- inside a request before its actor is known: ``anonymous``, which sees nothing but the
  token it presents (:func:`lookup_scope`);
- outside any request (jobs, the CLI, demo data, migrations, the access log's writer):
  ``system``, which sees everything; so does code inside :func:`system_scope` (the metrics
  scrape and the health checks).

A statement issued where no scope was set (a connection of some other tool) sees no row of a
scoped table: the policies allow nothing without a role.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from sqlalchemy import Engine, event

from supplytrack.core.context import current_context

# The scope last set in the connection's open transaction (pool record info).
_SET_KEY = "supplytrack_scope"
# libpq transaction states: idle (no transaction), in a transaction, in a failed one.
_IDLE = 0
_IN_ERROR = 3

SCOPE_STATEMENT = (
    "SELECT set_config('supplytrack.role', %(st_role)s, true),"
    " set_config('supplytrack.supplier_id', %(st_supplier)s, true),"
    " set_config('supplytrack.token_id', %(st_token)s, true),"
    " set_config('supplytrack.token', %(st_digest)s, true)"
)

# The same, for a statement with positional parameters (the values in Scope's field order).
SCOPE_STATEMENT_POSITIONAL = (
    "SELECT set_config('supplytrack.role', %s, true),"
    " set_config('supplytrack.supplier_id', %s, true),"
    " set_config('supplytrack.token_id', %s, true),"
    " set_config('supplytrack.token', %s, true)"
)


class Scope(NamedTuple):
    """The values of the four settings (text, as set_config takes them)."""

    role: str
    supplier_id: str = ""
    token_id: str = ""
    digest: str = ""

    def params(self) -> dict[str, str]:
        """The parameters of :data:`SCOPE_STATEMENT`."""
        return {
            "st_role": self.role,
            "st_supplier": self.supplier_id,
            "st_token": self.token_id,
            "st_digest": self.digest,
        }


SYSTEM = Scope("system")
ANONYMOUS = Scope("anonymous")

_override: ContextVar[Scope | None] = ContextVar("supplytrack_scope", default=None)


def current_scope() -> Scope:
    """The scope the statement about to run belongs to (see the module's docstring)."""
    forced = _override.get()
    if forced is not None:
        return forced
    context = current_context()
    if context is None:
        return SYSTEM
    scope = context.scope
    if scope is None:
        return ANONYMOUS
    return scope if isinstance(scope, Scope) else Scope(*scope)


def actor_scope(role: str, supplier_id: int | None, token_id: int | None) -> Scope:
    """The scope of an actor (a request's, once its token is known)."""
    return Scope(
        role,
        "" if supplier_id is None else str(int(supplier_id)),
        "" if token_id is None else str(int(token_id)),
    )


def lookup_scope(digest: str) -> Scope:
    """The scope of a token lookup.

    Nothing is visible but the token of this digest (and its supplier's row, for its status).
    """
    return Scope("anonymous", digest=digest)


@contextmanager
def scoped_as(scope: Scope) -> Iterator[None]:
    """Run the block's statements in ``scope``, whatever the surrounding code's is."""
    token = _override.set(scope)
    try:
        yield
    finally:
        _override.reset(token)


def system_scope() -> AbstractContextManager[None]:
    """Run the block's statements as ``system`` (inside a request too).

    For the metrics scrape and the access log's writer, which work across suppliers.
    """
    return scoped_as(SYSTEM)


def set_scope(dbapi_connection: Any, scope: Scope) -> None:
    """Run :data:`SCOPE_STATEMENT` on a driver connection (its transaction begins with it)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(SCOPE_STATEMENT, scope.params())
    finally:
        cursor.close()


def forget_scope(info: dict[Any, Any]) -> None:
    """Forget the scope set on a connection (a bare cursor set another one).

    The next statement through the engine then sets its own again.
    """
    info.pop(_SET_KEY, None)


def scope_every_transaction(engine: Engine) -> None:
    """Give every transaction of ``engine`` (PostgreSQL) the scope of the code that runs it.

    Before each statement: when the connection is not in a transaction yet (the statement
    will begin one) or its transaction was set for another scope (a test's connection that
    serves several requests in turn), the settings are set first, in that transaction. A
    rolled-back savepoint takes its settings with it, so the next statement sets them again.
    The hot reads' bare cursor sets its own (core/db.py ObservedCursor).
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _scope(conn: Any, _cursor: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        if getattr(conn, "bare", False):
            return
        fairy = conn.connection
        dbapi = fairy.dbapi_connection
        status = dbapi.info.transaction_status
        if status == _IN_ERROR or dbapi.autocommit:
            return  # the statement fails anyway / no transaction to scope (sees no rows)
        wanted = current_scope()
        info = fairy.info
        if status != _IDLE and info.get(_SET_KEY) == wanted:
            return
        set_scope(dbapi, wanted)
        info[_SET_KEY] = wanted

    @event.listens_for(engine, "rollback_savepoint")
    def _forget(conn: Any, _name: Any, _context: Any) -> None:
        conn.connection.info.pop(_SET_KEY, None)
