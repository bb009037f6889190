"""Per-request context (request id, actor, query count) carried in a context variable.

The object is mutable on purpose: FastAPI runs sync endpoints in a worker thread with a copy
of the context, and the copy still points at the same object, so queries counted there are
seen by the middleware that logs the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestContext:
    """What the logs and the audit trail need to know about the current request."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    actor_id: int | None = None
    actor_label: str | None = None
    query_count: int = 0
    admitted: bool = False  # counted against the actor's rate limits
    # time.monotonic() by which the request's database work must be done (core/watchdog.py)
    deadline: float | None = None
    # Added to the response as it starts (the rate-limit fields of the request's actor).
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    # Bookkeeping run (in a worker thread) once the response has been sent: the client
    # never waits for it, and it never changes the answer (a token's last use).
    after_response: list[Callable[[], None]] = field(default_factory=list)
    # Called inline once the answer is complete, with this context (quick, never blocking:
    # the supplier access log takes its entry here). method, route, target and status are
    # filled in by then.
    on_finish: list[Callable[[RequestContext], None]] = field(default_factory=list)
    # Whose rows the request's transactions may see on PostgreSQL (core/rowsecurity.py Scope):
    # set once its token is known; None before (anonymous).
    scope: tuple[str, str, str, str] | None = None
    actor_role: str | None = None
    actor_supplier_id: int | None = None
    method: str = ""
    route: str = ""
    target: str = ""  # the path and query string: the objects or the filter asked for
    status: int = 0


_current: ContextVar[RequestContext | None] = ContextVar("supplytrack_request", default=None)


def current_context() -> RequestContext | None:
    """Return the context of the request being served, if any."""
    return _current.get()


def bind_context(context: RequestContext | None) -> object:
    """Make ``context`` current; returns a token for :func:`reset_context`."""
    return _current.set(context)


def reset_context(token: object) -> None:
    """Restore the context that was current before :func:`bind_context`."""
    _current.reset(token)  # type: ignore[arg-type]


def current_request_id() -> str | None:
    """Return the id of the request being served, if any."""
    context = _current.get()
    return context.request_id if context else None
