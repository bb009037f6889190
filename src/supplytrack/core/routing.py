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
import random
from collections.abc import Callable, Coroutine
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

    @property
    def session(self) -> Session:
        """The request's session (opened now if this is the first use)."""
        if self._session is None:
            self._session = self._database.session(write=self._write)
        return self._session

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
            self._session.commit()
            run_after_commit(self._session)

    def close(self) -> None:
        """Roll back anything uncommitted and give the connection back."""
        if self._session is not None:
            forget_after_commit(self._session)
            self._session.close()
            self._session = None


class UnitOfWorkRoute(APIRoute):
    """An APIRoute whose endpoint runs inside one transaction, committed before responding."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with commit, rollback and bounded retry."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            database: Database = request.app.state.database
            retries = database.settings.database_retries
            attempt = 0
            while True:
                uow = UnitOfWork(database, write=request.method not in SAFE_METHODS)
                request.state.uow = uow
                committing = False
                try:
                    response = await handler(request)
                    committing = True
                    if uow.pending:
                        await run_in_threadpool(uow.commit)
                    return response
                except (exc.DBAPIError, exc.TimeoutError) as error:
                    if committing or attempt >= retries or not is_retryable(error):
                        raise
                    attempt += 1
                finally:
                    if uow.opened:
                        await run_in_threadpool(uow.close)
                await asyncio.sleep(min(1.0, 0.02 * 2**attempt) * (0.5 + random.random() / 2))  # noqa: S311

        return handle


async def get_session(request: Request) -> Session:
    """Dependency: the session of the current request's unit of work.

    Async on purpose (it does no I/O: the session opens on first use): FastAPI runs sync
    dependencies in the thread pool, a thread hop per dependency per request.
    """
    uow: UnitOfWork = request.state.uow
    return uow.session
