"""Requests uvicorn itself refuses (they never reach the application) get the error envelope."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.serve import Server, cli

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'st.db'}", "LOG_LEVEL": "warning"}
    env.pop("REDIS_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cli(env, "db", "upgrade")
    running = Server(env, tmp_path / "server.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /api/projects HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n\r\n",
    ],
    ids=["negative content-length", "oversized request line", "NUL in a header"],
)
def test_a_malformed_request_is_answered_in_the_envelope(
    server: Server, request_bytes: bytes
) -> None:
    status, headers, body = _raw(server.port, request_bytes)
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    assert "server" not in headers
    error = json.loads(body)["error"]
    assert error["code"] == "MALFORMED_REQUEST"
    assert set(error) == {"code", "message", "details", "requestId"}
    assert error["requestId"] == headers["x-request-id"]
