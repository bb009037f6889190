"""Bounded database calls: a statement, commit or ping that outlives its deadline is cut.

PostgreSQL's statement_timeout ends a slow statement on a server that still answers. It does
nothing when the network stops carrying packets (a dead link, a blackholing firewall): the
client waits in recv() for an answer that never comes, and TCP keepalives or
TCP_USER_TIMEOUT only help when the kernel's own segments go unacknowledged, which a proxy
or load balancer in between hides. So the client bounds every call itself: each is armed
with a deadline before it starts; one thread watches the deadlines and, when one passes,
shuts the connection's socket down (PostgreSQL) or interrupts it (SQLite). The blocked call
returns with an error at once; the connection is thrown away; the request answers 503.

Inside a request, the deadline is the earlier of the statement's own (DATABASE_STATEMENT_TIMEOUT
plus a second, so that the server's cancel normally wins) and the request's: all of a
request's database work shares one budget, retries and fallbacks included.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

Cut = Callable[[], None]


class Watchdog:
    """Deadlines of calls in flight, keyed by connection; one thread cuts the late ones.

    Arming costs a lock and a dict entry: the thread is woken only when a new deadline is
    sooner than the one it sleeps towards (almost never: deadlines are seconds away).
    """

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, Any]] = {}
        self._fired: set[int] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._sleeping_until = 0.0

    def arm(self, key: int, seconds: float, connection: Any) -> None:
        """Cut ``connection`` (see cutter) unless ``key`` is disarmed within ``seconds``."""
        deadline = time.monotonic() + max(0.0, seconds)
        with self._wake:
            self._armed[key] = (deadline, connection)
            if self._fired:
                self._fired.discard(key)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="supplytrack-db-watchdog", daemon=True
                )
                self._thread.start()
            elif deadline < self._sleeping_until:
                self._wake.notify()

    def disarm(self, key: int) -> None:
        """The call on ``key`` ended, in time or not (fired() tells whether it was cut)."""
        with self._wake:
            self._armed.pop(key, None)

    def fired(self, key: int) -> bool:
        """Whether ``key``'s last call was cut (and forget that it was)."""
        with self._wake:
            if key in self._fired:
                self._fired.discard(key)
                return True
            return False

    def _watch(self) -> None:
        while True:
            late: list[Any] = []
            with self._wake:
                now = time.monotonic()
                for key, (deadline, connection) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[key]
                        self._fired.add(key)
                        late.append(connection)
                if not late:
                    soonest = min((d for d, _ in self._armed.values()), default=now + 60)
                    self._sleeping_until = soonest
                    self._wake.wait(timeout=max(0.001, soonest - now))
                    self._sleeping_until = 0.0
            for connection in late:
                with contextlib.suppress(Exception):
                    cutter(connection)()


WATCHDOG = Watchdog()


def cutter(dbapi_connection: Any) -> Cut:
    """How to end a call in flight on ``dbapi_connection`` from another thread."""
    interrupt = getattr(dbapi_connection, "interrupt", None)
    if callable(interrupt):  # sqlite3: aborts the running statement, thread-safe
        return interrupt  # type: ignore[no-any-return]
    fileno = dbapi_connection.fileno()

    def shut() -> None:
        # shutdown() acts on the socket, not the descriptor: the blocked recv() returns now.
        duplicate = socket.socket(fileno=os.dup(fileno))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()

    return shut
