"""The floor: the SQL the product sends, captured in-process, replayed through the bare driver.

``InProcess`` runs the real application (create_app) in this process, without a network
server, so that ``Capture`` can record every statement, parameter, commit and rollback that a
request sends to the database. ``replay`` then sends exactly those through sqlite3 or psycopg
(same pragmas / session options as the product's connections); what it costs is the floor.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, NamedTuple

_WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)


class Op(NamedTuple):
    """One thing a connection did: a statement ("sql"), a "commit" or a "rollback"."""

    kind: str
    statement: str = ""
    params: Any = None
    many: bool = False
    connection: int = 0  # which of the product's connections did it


def connect(url: str) -> Any:
    """A bare DB-API connection set up as the product sets up its own."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(
            url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection
    import psycopg

    return psycopg.connect(url, options="-c lock_timeout=5000 -c timezone=UTC")


class Capture:
    """Records what an engine sends to the database while the ``with`` block runs."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.ops: list[Op] = []

    def __enter__(self) -> Capture:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._sql)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        return self

    def __exit__(self, *_: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._sql)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)

    def _sql(
        self, conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        self.ops.append(Op("sql", statement, params, many, self._key(conn)))

    def _commit(self, conn: Any) -> None:
        self.ops.append(Op("commit", connection=self._key(conn)))

    def _rollback(self, conn: Any) -> None:
        self.ops.append(Op("rollback", connection=self._key(conn)))

    @staticmethod
    def _key(conn: Any) -> int:
        return id(conn.connection.dbapi_connection)

    def statements(self) -> list[str]:
        """The statements only (for reports and counting)."""
        return [op.statement for op in self.ops if op.kind == "sql"]


def writes_to(*tables: str) -> Callable[[str], bool]:
    """Keep transaction control and the INSERT/UPDATE/DELETE statements on ``tables``."""

    def keep(statement: str) -> bool:
        if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            return True
        match = _WRITE.match(statement)
        return match is not None and match.group(1).lower() in tables

    return keep


class Bare:
    """Bare connections, one for each connection of the product a capture saw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connections: dict[int, Any] = {}

    def __getitem__(self, key: int) -> Any:
        if key not in self.connections:
            self.connections[key] = connect(self.url)
        return self.connections[key]

    def close(self) -> None:
        """Close every connection."""
        for connection in self.connections.values():
            connection.close()


def replay(bare: Bare, ops: Sequence[Op], keep: Callable[[str], bool] | None = None) -> float:
    """Send ``ops`` through bare connections (fetching every row); the seconds it took."""
    started = time.perf_counter()
    for op in ops:
        connection = bare[op.connection]
        if op.kind == "commit":
            connection.commit()
        elif op.kind == "rollback":
            connection.rollback()
        elif keep is None or keep(op.statement):
            cursor = connection.cursor()
            if op.many:
                cursor.executemany(op.statement, op.params)
            else:
                cursor.execute(op.statement, op.params)
                if cursor.description is not None:
                    cursor.fetchall()
    elapsed = time.perf_counter() - started
    for connection in bare.connections.values():
        connection.rollback()  # nothing of a workload that ended open is kept
    return elapsed


def _replay_worker(
    url: str, workloads: Sequence[Sequence[Op]], threads: int, seconds: float, seed: int
) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(number: int) -> None:
        chooser = random.Random(seed * 100 + number)
        bare = Bare(url)
        mine = []
        while time.monotonic() < deadline:
            mine.append(replay(bare, chooser.choice(workloads)))
        bare.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies


def concurrent_replay(
    url: str, workloads: Sequence[Sequence[Op]], processes: int, threads: int, seconds: float
) -> tuple[float, list[float]]:
    """Replay random workloads from ``processes`` x ``threads`` connections: (per s, latencies)."""
    # Spawned, not forked: a fork taken while one of this process's threads held a lock once
    # left a pool worker waiting forever. Each worker replays for ``seconds`` from its own
    # start, so the rate is counted over that time (the start-up is not in it).
    context = multiprocessing.get_context("spawn")
    args = [(url, workloads, threads, seconds, seed) for seed in range(processes)]
    with context.Pool(processes) as pool:
        results = pool.starmap(_replay_worker, args)
    latencies = [value for result in results for value in result]
    return len(latencies) / seconds, latencies


class InProcess:
    """The application in this process, called through ASGI (no server, no network)."""

    def __init__(self, url: str, **settings: Any) -> None:
        os.environ["DATABASE_URL"] = url
        os.environ["LOG_LEVEL"] = "warning"
        from supplytrack.core.db import Database
        from supplytrack.core.settings import Settings, get_settings
        from supplytrack.main import create_app

        get_settings.cache_clear()
        # The floor replays what a request sends to the database: nothing may come from a cache.
        values: dict[str, Any] = {"cache_enabled": False, "cache_warm": False, **settings}
        self.settings = Settings(database_url=url, log_level="warning", **values)
        self.database = Database(self.settings)
        self.app = create_app(self.settings, self.database)

    def capture(self) -> Capture:
        """Record what the application sends to the database."""
        return Capture(self.database.engine)

    def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, bytes]:
        """Status and body of one request."""
        return asyncio.run(self._call(method, path, token, body))

    async def _call(self, method: str, path: str, token: str, body: Any) -> tuple[int, bytes]:
        route, _, query = path.partition("?")
        data = b"" if body is None else json.dumps(body).encode()
        headers = [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(data)).encode()),
            (b"content-type", b"application/json"),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": route,
            "raw_path": route.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("bench", 80),
        }
        pending = [{"type": "http.request", "body": data, "more_body": False}]
        answer: dict[str, Any] = {"status": 0, "body": []}

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop()
            await asyncio.Event().wait()  # the client never goes away
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"].append(message.get("body", b""))

        await self.app(scope, receive, send)
        return int(answer["status"]), b"".join(answer["body"])

    def close(self) -> None:
        """Give every connection back."""
        self.database.dispose()
