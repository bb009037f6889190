"""The request middleware: body cap (declared and chunked) and X-Request-ID on every answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from supplytrack.core.db import Database
from supplytrack.main import create_app
from tests.fixtures.auth import Caller

CAP = 4096


@pytest.fixture
def app(database: Database) -> FastAPI:
    """The application with a small body cap."""
    return create_app(
        database.settings.model_copy(update={"max_body_bytes": CAP}), database=database
    )


def _project(padding: int = 0) -> bytes:
    body = {
        "code": f"MW-{uuid.uuid4().hex[:8]}",
        "name": "middleware",
        "description": "d" * padding,
    }
    return orjson.dumps(body)


def _assert_envelope(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message", "details", "requestId"}
    assert error["requestId"] == response.headers["X-Request-ID"]


def _json(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


def test_body_under_the_cap_is_served(client: TestClient, manager: Caller) -> None:
    body = _project(padding=CAP // 2)
    assert len(body) < CAP
    response = client.post("/api/projects", content=body, headers=_json(manager.headers))
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "d" * (CAP // 2)


def test_declared_body_over_the_cap_is_413(client: TestClient, manager: Caller) -> None:
    body = _project(padding=CAP)
    assert len(body) > CAP
    response = client.post("/api/projects", content=body, headers=_json(manager.headers))
    _assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    listed = client.get("/api/projects", headers=manager.headers).json()
    assert listed["items"] == []


def test_declared_body_exactly_at_the_cap_is_served(client: TestClient, manager: Caller) -> None:
    base = _project()
    body = _project(padding=CAP - len(base))
    assert len(body) == CAP
    response = client.post("/api/projects", content=body, headers=_json(manager.headers))
    assert response.status_code == 201, response.text


def _chunks(body: bytes, size: int = 512) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_chunked_body_over_the_cap_is_413(client: TestClient, manager: Caller) -> None:
    body = _project(padding=CAP * 3)
    response = client.post("/api/projects", content=_chunks(body), headers=_json(manager.headers))
    _assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert client.get("/api/projects", headers=manager.headers).json()["items"] == []


def test_chunked_body_under_the_cap_is_served(client: TestClient, manager: Caller) -> None:
    body = _project(padding=CAP // 2)
    response = client.post("/api/projects", content=_chunks(body), headers=_json(manager.headers))
    assert response.status_code == 201, response.text


def test_malformed_content_length_is_refused(client: TestClient, manager: Caller) -> None:
    response = client.post(
        "/api/projects",
        content=_project(),
        headers={**_json(manager.headers), "Content-Length": "12abc"},
    )
    assert response.status_code in {400, 413}
    assert response.json()["error"]["requestId"] == response.headers["X-Request-ID"]


# --- straight through ASGI: is the body read at all? -------------------------------------------


def _call(app: FastAPI, headers: list[tuple[bytes, bytes]], receive: Any) -> list[Message]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/projects",
        "raw_path": b"/api/projects",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _status(sent: list[Message]) -> int:
    return int(next(m for m in sent if m["type"] == "http.response.start")["status"])


def test_declared_oversize_body_is_refused_without_reading_it(app: FastAPI) -> None:
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    sent = _call(app, [(b"content-length", str(CAP * 1000).encode())], receive)
    assert _status(sent) == 413
    assert reads == 0


def test_endless_chunked_body_is_cut_off_at_the_cap(app: FastAPI) -> None:
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    sent = _call(app, [(b"transfer-encoding", b"chunked")], receive)
    assert _status(sent) == 413
    assert reads <= CAP // 1024 + 1  # stopped right after crossing the cap
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert any(name == b"x-request-id" for name, _ in start["headers"])


# --- X-Request-ID on every response ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/no/such/path", 404),
        ("GET", "/api/projects/999999", 404),
        ("DELETE", "/api/projects", 405),
        ("PUT", "/api/task-instances", 405),
        ("GET", "/api/projects/not-a-number", 422),
        ("GET", "/api/projects?limit=100000", 422),
    ],
)
def test_every_response_carries_a_request_id(
    client: TestClient, manager: Caller, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, headers=manager.headers)
    assert response.status_code == status
    request_id = response.headers["X-Request-ID"]
    assert request_id
    if status >= 400:
        assert response.json()["error"]["requestId"] == request_id


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/no/such/path"), ("DELETE", "/api/projects")]
)
def test_404_and_405_use_the_envelope(
    client: TestClient, manager: Caller, method: str, path: str
) -> None:
    response = client.request(method, path, headers={**manager.headers, "X-Request-ID": "mw-1"})
    assert response.headers["X-Request-ID"] == "mw-1"
    code = "NOT_FOUND" if response.status_code == 404 else "METHOD_NOT_ALLOWED"
    _assert_envelope(response, response.status_code, code)
    if response.status_code == 405:
        assert "GET" in response.headers["Allow"]


def test_unauthenticated_and_413_answers_carry_the_incoming_request_id(client: TestClient) -> None:
    unauthenticated = client.get("/api/projects", headers={"X-Request-ID": "mw-401"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["X-Request-ID"] == "mw-401"
    too_large = client.post(
        "/api/projects",
        content=b"x" * (CAP + 1),
        headers={"X-Request-ID": "mw-413", "Content-Type": "application/json"},
    )
    _assert_envelope(too_large, 413, "PAYLOAD_TOO_LARGE")
    assert too_large.headers["X-Request-ID"] == "mw-413"
