"""The route class that owns a request's unit of work: commit before the response is sent.

Services and repositories only flush. This route runs the endpoint, commits, and only then
hands the response on, so a failed commit can never answer 2xx. A transient database failure
before the commit (lost connection, serialization failure, deadlock, SQLite busy) rolls back
and runs the whole endpoint again a bounded number of times: nothing was committed, so the
retry cannot apply anything twice. A failure of the commit itself is not retried (the
outcome is unknown) and surfaces as an error.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import exc
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from supplytrack.core.db import Database, is_retryable
from supplytrack.core.queue import forget_after_commit, run_after_commit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class UnitOfWork:
    """The session of one request, opened on first use."""

    def __init__(self, database: Database, *, write: bool) -> None:
        self._database = database
        self._write = write
        self._session: Session | None = None
        self._reads: Session | None = None
        self.committing = False  # the commit was sent: its outcome is unknown on error
        self.done = False

    @property
    def session(self) -> Session:
        """The request's session (opened now if this is the first use)."""
        if self._session is None:
            self._session = self._database.session(write=self._write)
        return self._session

    @property
    def reads(self) -> Session:
        """A second session, for reads outside the write transaction (opened on first use)."""
        if self._reads is None:
            self._reads = self._database.session(write=False)
        return self._reads

    @property
    def opened(self) -> bool:
        """Whether the endpoint used the database."""
        return self._session is not None

    @property
    def pending(self) -> bool:
        """Whether there is a write transaction (or after-commit work) to commit."""
        return self._session is not None and self._write

    def commit(self) -> None:
        """Commit what the endpoint did, if it touched the database; then run after-commit work."""
        if self._session is not None and self._write:
            self.committing = True
            self._session.commit()
            run_after_commit(self._session)
        self.done = True

    def finish(self) -> None:
        """Commit (when there is something to) and give the connection back, in one go."""
        self.committing = self.pending
        try:
            self.commit()
        finally:
            self.close()

    def close(self) -> None:
        """Roll back anything uncommitted and give the connections back."""
        if self._reads is not None:
            self._reads.close()
            self._reads = None
        if self._session is not None:
            forget_after_commit(self._session)
            self._session.close()
            self._session = None


_current_uow: ContextVar[UnitOfWork | None] = ContextVar("supplytrack_uow", default=None)


def _finishing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync endpoint that commits its unit of work in its own worker thread.

    Committing (and giving the connection back) right where the endpoint ran saves two
    thread hops a request and, on SQLite, holds the write lock only as long as the work.
    """

    @functools.wraps(endpoint)
    def run(**values: Any) -> Any:
        result = endpoint(**values)
        uow = _current_uow.get()
        if uow is not None:
            uow.finish()
        return result

    return run


class UnitOfWorkRoute(APIRoute):
    """An APIRoute whose endpoint runs inside one transaction, committed before responding."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with commit, rollback and bounded retry."""
        call = self.dependant.call
        if call is not None and not inspect.iscoroutinefunction(call):
            self.dependant.call = _finishing(call)
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            database: Database = request.app.state.database
            retries = database.settings.database_retries
            attempt = 0
            while True:
                uow = UnitOfWork(database, write=request.method not in SAFE_METHODS)
                request.state.uow = uow
                token = _current_uow.set(uow)
                try:
                    response = await handler(request)
                    if not uow.done and uow.pending:
                        uow.committing = True
                        await run_in_threadpool(uow.commit)
                    return response
                except (exc.DBAPIError, exc.TimeoutError) as error:
                    if uow.committing or attempt >= retries or not is_retryable(error):
                        raise
                    attempt += 1
                finally:
                    _current_uow.reset(token)
                    if uow.opened:
                        await run_in_threadpool(uow.close)
                await asyncio.sleep(min(1.0, 0.02 * 2**attempt) * (0.5 + random.random() / 2))  # noqa: S311  # nosec B311

        return handle


async def get_session(request: Request) -> Session:
    """Dependency: the session of the current request's unit of work.

    Async on purpose (it does no I/O: the session opens on first use): FastAPI runs sync
    dependencies in the thread pool, a thread hop per dependency per request.
    """
    uow: UnitOfWork = request.state.uow
    return uow.session
