"""SQLite's writers wait their turn in a queue, not in SQLite's busy handler.

SQLite has one writer at a time. A writer that finds the lock taken polls for it with growing
sleeps (1, 2, 5 ... 50, 100 ms) and may keep losing to newcomers: under load a single PATCH
waited over a second behind the other worker's. Every write transaction of every supplytrack
process on the database therefore first takes this gate: a lock within the process (threads
queue on it) and an advisory file lock beside the database across processes (polled every
0.1 ms: a coarser poll left the other process idle after each release, and doubled the p99
of the PATCH under load), held by one connection from BEGIN IMMEDIATE until it goes back to
the pool.
SQLite's own lock and busy_timeout stay beneath, for anyone else writing to the file.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import IO

_MAX_POLL = 0.0001


class WriterGate:
    """The write turn of one SQLite database, shared by the threads and processes using it."""

    def __init__(self, database_path: Path) -> None:
        self.path = database_path.with_name(database_path.name + "-writer")
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None

    def acquire(self, timeout: float) -> bool:
        """Take the turn within ``timeout`` seconds; False when it could not be had."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            if self._file is None:
                self._file = self.path.open("ab")
            pause = 0.0002
            while True:
                try:
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        self._lock.release()
                        return False
                    time.sleep(pause)
                    pause = min(_MAX_POLL, pause * 2)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        """Give the turn back (from whichever thread returns the connection that took it)."""
        try:
            if self._file is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        finally:
            self._lock.release()


_gates: dict[str, WriterGate] = {}
_gates_lock = threading.Lock()


def gate_for(database_path: str) -> WriterGate:
    """The process's gate of a database file (one per file, whatever the engine)."""
    key = os.path.realpath(database_path)
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriterGate(Path(key))
        return gate
