"""Helpers of the core tests: apps on their own settings, log capture, statement counting."""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from supplytrack.auth.service import TokenService
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.core.settings import Settings
from supplytrack.main import create_app

_DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@contextmanager
def app_client(settings: Settings, database: Database | None = None) -> Iterator[TestClient]:
    """A client of the real application built on ``settings`` (the app owns its database)."""
    app = create_app(settings, database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def committed_token(database: Database, role: Role = Role.MANAGER) -> str:
    """Create and commit a token of ``role``; returns the raw bearer token."""
    with database.session_scope() as session:
        _, raw = TokenService(session).create(f"core-{role.value}", role, None)
    return raw


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- logs ------------------------------------------------------------------------------------


def _is_ours(handler: logging.Handler) -> bool:
    return isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)


def release_log_handlers() -> None:
    """Detach and close the handlers configure_logging() put on the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if _is_ours(handler):
            root.removeHandler(handler)
            handler.close()


@dataclass
class LogCapture:
    """Everything written through the application's log formatter, as text and as JSON."""

    stream: io.StringIO = field(default_factory=io.StringIO)

    def attach(self) -> None:
        """Add a handler with the formatter configure_logging() installed."""
        root = logging.getLogger()
        formatters = [h.formatter for h in root.handlers if _is_ours(h)]
        assert formatters, "configure_logging() has not run"
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(formatters[0])
        root.addHandler(handler)

    @property
    def text(self) -> str:
        """All output so far."""
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """Every line, parsed (a line that is not JSON fails the test)."""
        return [orjson.loads(line) for line in self.text.splitlines() if line.strip()]

    def requests(self) -> list[dict[str, Any]]:
        """The request lines."""
        return [r for r in self.records() if r.get("logger") == "supplytrack.request"]


# --- statements ------------------------------------------------------------------------------


@dataclass
class StatementLog:
    """SQL statements sent to the database while recording."""

    statements: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def data(self) -> list[str]:
        """The statements that read or write rows (no BEGIN, SAVEPOINT, PRAGMA, ...).

        A token's last use (api_token_usage, written after the answer at most once a minute)
        is bookkeeping of the caller, not the request's work, and is left out.
        """
        return [
            s
            for s, _ in self.statements
            if s.lstrip().upper().startswith(_DATA_STATEMENTS) and "api_token_usage" not in s
        ]

    def reading(self, table: str) -> list[tuple[str, Any]]:
        """SELECTs whose FROM names ``table``."""
        found = []
        for statement, params in self.statements:
            upper = " ".join(statement.split()).upper()
            if upper.startswith("SELECT") and f" FROM {table.upper()}" in upper:
                found.append((statement, params))
        return found


@contextmanager
def recording(engine: Engine) -> Iterator[StatementLog]:
    """Record every statement ``engine`` sends while the block runs."""
    log = StatementLog()

    def before(
        _conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool
    ) -> None:
        log.statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)


# --- a TCP proxy that can be cut --------------------------------------------------------------


class TcpProxy:
    """Forward 127.0.0.1:<port> to a target; stop() refuses new and kills open connections.

    blackhole() keeps every connection open and accepts new ones, but from then on carries no
    byte either way (a dead link or a dropping firewall); restore() carries them again (the
    connections cut mid-stream stay broken; new ones work).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._holes = threading.Event()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen (on the same port as before, after a stop)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        self._spawn(self._accept, listener)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def blackhole(self) -> None:
        """Drop every byte from now on, without closing anything."""
        self._holes.set()

    def restore(self) -> None:
        """Carry bytes again."""
        self._holes.clear()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self._holes.is_set():
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Stop listening and cut every forwarded connection."""
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=5)
        for sock in sockets:
            sock.close()
