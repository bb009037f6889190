"""SIGTERM to a real `supplytrack serve`: the request in flight finishes, nothing is left behind.

The server runs as `make serve` runs it (SQLite, the embedded job worker beside it), in a
process group of its own; after it exits, no process of that group may be left (the job
worker included). A request is held in flight by sending its body in two halves; /metrics
says when the server is serving it, so nothing here waits on a guess of time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.core.helpers import free_port
from tests.fixtures.database import is_postgres

SUPPLYTRACK = [sys.executable, "-m", "supplytrack"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(is_postgres(), reason="serve with its embedded worker runs on SQLite"),
]


def _until(condition: object, what: str, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    pytest.fail(f"not within {deadline} s: {what}")


def _in_flight(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    found = re.search(r"^supplytrack_requests_in_flight (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_the_request_in_flight_and_stops_the_job_worker(
    tmp_path: Path, workers: int
) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'st.db'}", "LOG_LEVEL": "info"}
    env.pop("REDIS_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([*SUPPLYTRACK, "db", "upgrade"], env=env, check=True, capture_output=True)
    printed = subprocess.run(
        [*SUPPLYTRACK, "tokens", "create", "--role", "manager", "--name", "t"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    token = next(word for word in printed.split() if word.startswith("st_"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*SUPPLYTRACK, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _until(lambda: not _refused(port) and _in_flight(base) >= 0, "the server answers")
        body = json.dumps(
            {
                "code": "SHUT-1",
                "name": "Shutdown",
                "startDate": "2027-01-04",
                "sopDate": "2027-06-01",
            }
        ).encode()
        held = socket.create_connection(("127.0.0.1", port), timeout=30)
        held.sendall(
            b"POST /api/projects HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        # With several workers /metrics may come from another one: livesum adds them up.
        _until(lambda: _in_flight(base) >= 2, "the held request is being served")

        server.send_signal(signal.SIGTERM)
        # The worker serving the held request says it waits for it (uvicorn's own line).
        _until(lambda: "Waiting for" in log.read_text(errors="replace"), "graceful shutdown")
        if workers == 1:
            # With several, uvicorn's supervisor keeps the socket open until they have ended.
            _until(lambda: _refused(port), "the server stops accepting")
        held.sendall(body[10:])
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = held.recv(65536)
            assert chunk, f"connection closed before an answer: {answer!r}"
            answer += chunk
        held.close()
        assert answer.startswith(b"HTTP/1.1 201"), (answer[:200], log.read_text()[-2000:])

        assert server.wait(timeout=60) == 0
        _until(lambda: not _group_alive(server.pid), "every process of the server's group ends")
    finally:
        if server.poll() is None or _group_alive(server.pid):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
