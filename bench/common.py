"""Shared helpers of the benchmark scripts: databases, servers, HTTP, load, result tables.

Run by hand only (see bench/README.md). The bare-driver side (capture and replay of the SQL
the product sends) is in ``floor.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
WORK = Path("/tmp/bench")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


# Arguments, machine load ---------------------------------------------------------------


def parse_args(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """The options every script takes (--engine, --reuse, --quiet-load) and its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], required=True)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the database an earlier run built"
    )
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=1.0,
        help="wait (up to 3 minutes) for the 1-minute load average to drop below this",
    )
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def load() -> str:
    """The load averages (1, 5, 15 minutes), as uptime shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def wait_quiet(limit: float, timeout: float = 180.0) -> str:
    """Wait until the 1-minute load average is below ``limit`` (the machine has 2 cores)."""
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        time.sleep(5)
    verdict = "quiet" if os.getloadavg()[0] < limit else f"still busy after {timeout:.0f} s"
    return f"{load()} ({verdict})"


def need(program: str, install: str) -> str:
    """The path of ``program``, or exit with what to install."""
    found = shutil.which(program)
    if found is None:
        sys.exit(f"this benchmark needs `{program}`: {install}")
    return found


# Databases -------------------------------------------------------------------------------


def database_url(name: str, engine: str) -> str:
    """The URL of benchmark database ``bench_<name>`` on the chosen engine."""
    if engine == "sqlite":
        return f"sqlite:///{WORK}/bench_{name}.db"
    return f"{PG_SERVER}/bench_{name}"


def env_for(url: str, **extra: str) -> dict[str, str]:
    """The environment of a supplytrack command against ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    # One token drives thousands of requests a second here, far past the default per-token
    # limit (6000/minute): the limit is raised, not turned off, so every request still pays
    # for being counted.
    env.update(DATABASE_URL=url, LOG_LEVEL="warning", RATE_LIMIT_DEFAULT="100000000/minute")
    # No warming behind a measurement's back (on xl it computes the reports as servers start).
    env.update(CACHE_WARM="false")
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def supplytrack(url: str, *args: str, **extra_env: str) -> str:
    """Run ``supplytrack ARGS`` against ``url``; its output (exit on failure)."""
    done = subprocess.run(  # noqa: PLW1510 - checked below, with the output shown
        [str(BIN / "supplytrack"), *args],
        env=env_for(url, COLUMNS="200", **extra_env),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"supplytrack {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def has_data(url: str) -> bool:
    """Whether the database exists and holds task instances."""
    from floor import connect

    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///")).exists():
        return False
    try:
        connection = connect(url)
    except Exception:
        return False
    try:
        row = connection.execute("SELECT count(*) FROM task_instances").fetchone()
        return bool(row and row[0])
    except Exception:
        return False
    finally:
        connection.close()


def prepare(name: str, engine: str, scale: str, *, reuse: bool, today: str | None = None) -> str:
    """Build ``bench_<name>`` with the project's own commands (or reuse it); its URL."""
    url = database_url(name, engine)
    if reuse and has_data(url):
        print(f"reusing {url}")
        return url
    WORK.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        for path in WORK.glob(f"bench_{name}*.db*"):
            path.unlink()
    else:
        _pg_admin(f"DROP DATABASE IF EXISTS bench_{name} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE bench_{name}")
    started = time.perf_counter()
    supplytrack(url, "db", "upgrade")
    demo = ["demo-data", "--scale", scale, "--seed", "1"]
    supplytrack(url, *demo, *(["--today", today] if today else []))
    print(f"built {url}: demo-data --scale {scale} in {time.perf_counter() - started:.1f} s")
    return url


def admin_token(url: str) -> str:
    """A fresh admin token (``supplytrack tokens create --role admin``)."""
    lines = supplytrack(url, "tokens", "create", "--role", "admin", "--name", "bench").split()
    return next(word for word in lines if word.startswith("st_"))


def supplier_token(url: str, name: str) -> tuple[str, int, list[int]]:
    """A new token of the supplier with the most instances.

    Returns (token, supplier id, up to 200 of its instance ids).
    """
    from floor import connect

    connection = connect(url)
    (supplier_id,) = connection.execute(
        "SELECT supplier_id FROM task_instances GROUP BY supplier_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    ids = [
        row[0]
        for row in connection.execute(
            f"SELECT id FROM task_instances WHERE supplier_id = {int(supplier_id)} LIMIT 200"
        ).fetchall()
    ]
    connection.close()
    printed = supplytrack(
        url,
        "tokens",
        "create",
        "--role",
        "supplier",
        "--supplier-id",
        str(supplier_id),
        "--name",
        name,
    )
    token = next(word for word in printed.split() if word.startswith("st_"))
    return token, int(supplier_id), ids


# Servers and HTTP ------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running ``supplytrack serve``."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON lines the server logged so far."""
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines


@contextlib.contextmanager
def serve(
    url: str, *, log_level: str = "warning", workers: int = 2, **env: str
) -> Iterator[Server]:
    """``supplytrack serve --workers N --no-with-worker`` on a free port, until the block ends."""
    port = free_port()
    log = WORK / f"server-{port}.log"
    command = [str(BIN / "supplytrack"), "serve", "--workers", str(workers)]
    command += ["--no-with-worker", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=env_for(url, LOG_LEVEL=log_level, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        wait_healthy(process, port, log, "the server")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # the group we started, and only it
            process.wait()


def wait_healthy(process: subprocess.Popen[bytes], port: int, log: Path, what: str) -> None:
    """Wait (60 s at most) until /healthz on ``port`` answers; exit with the log if not."""
    deadline = time.monotonic() + 60
    while not _healthy(port):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _healthy(port: int) -> bool:
    try:
        status, _, _ = Client(port).call("GET", "/healthz")
    except OSError:
        return False
    return status == 200


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, float]:
        """Status, body and seconds of one request."""
        data = None if body is None else json.dumps(body).encode()
        sent = {**self.headers, **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.connection.request(method, path, body=data, headers=sent)
        response = self.connection.getresponse()
        payload = response.read()
        return response.status, payload, time.perf_counter() - started

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """The JSON answer of a request that must succeed with ``expect``."""
        status, payload, _ = self.call(method, path, body)
        if status != expect:
            sys.exit(f"{method} {path}: {status} {payload[:500]!r}")
        return json.loads(payload)


# Figures and tables ------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass
class Row:
    """One figure of a result table; rates (``higher``) compare floor/value, times value/floor."""

    figure: str
    unit: str
    value: float | None
    floor: float | None = None
    target: str = ""
    higher: bool = False

    def ratio(self) -> str:
        """How many times the floor's cost the product pays."""
        if not self.value or not self.floor:
            return ""
        return f"{(self.floor / self.value if self.higher else self.value / self.floor):.2f}x"


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def print_table(title: str, rows: Sequence[Row], context: dict[str, str]) -> None:
    """The plain result table, with the run's context (engine, load, commands) above it."""
    print(f"\n## {title}")
    for key, value in {"date": datetime.now(UTC).isoformat(timespec="seconds"), **context}.items():
        print(f"- {key}: {value}")
    header = ("figure", "unit", "value", "floor", "x floor", "target")
    cells = [header] + [
        (r.figure, r.unit, _fmt(r.value), _fmt(r.floor), r.ratio(), r.target) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for index, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


# Memory ----------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (the server's uvicorn workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = [root]
    for pid in found:
        found.extend(child for child, parent in parents.items() if parent == pid)
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (0 when it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class PeakRss:
    """The resident memory of a process tree (a server and its workers), sampled in a thread.

    ``before`` and ``peak`` map each pid to KiB; the tree is read when the block starts.
    """

    def __init__(self, root: int, every: float = 0.1) -> None:
        self.pids = process_tree(root)
        self.before = {pid: rss_kib(pid) for pid in self.pids}
        self.peak = dict(self.before)
        self._every = every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))
            self._done.wait(self._every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def summary(self) -> str:
        """Each process's peak in MiB, largest first."""
        peaks = sorted(self.peak.values(), reverse=True)
        return ", ".join(f"{kib / 1024:.0f}" for kib in peaks) + " MiB"
