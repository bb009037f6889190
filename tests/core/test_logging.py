"""Logs: one JSON line per request, no secrets or bodies, request ids, levels, file, 500s."""

from __future__ import annotations

import io
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from supplytrack.audit.repository import HistoryRepository
from supplytrack.auth.service import USAGE
from supplytrack.core.db import Database
from supplytrack.core.logging import REQUEST_LOGGER, configure_logging, log_request, wants_console
from supplytrack.main import create_app
from supplytrack.projects.service import ProjectService
from tests.core.helpers import LogCapture, recording, release_log_handlers
from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
REQUEST_FIELDS = {
    "request_id",
    "actor_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "query_count",
}


@pytest.fixture
def app(database: Database) -> FastAPI:
    """The application on the test's database, logging at info."""
    return create_app(database.settings.model_copy(update={"log_level": "info"}), database=database)


@pytest.fixture
def logs(client: TestClient) -> Iterator[LogCapture]:
    """What the application logs from now on (the app is configured by ``client``)."""
    capture = LogCapture()
    capture.attach()
    yield capture
    release_log_handlers()


def _marker() -> str:
    return f"MARK{uuid.uuid4().hex}"


def _only_request_line(logs: LogCapture, request_id: str) -> dict[str, Any]:
    lines = [line for line in logs.requests() if line.get("request_id") == request_id]
    assert len(lines) == 1, lines
    return lines[0]


# --- the request line -------------------------------------------------------------------------


def test_one_json_line_per_request_with_every_field(
    client: TestClient, logs: LogCapture, manager: Caller, factory: Factory, database: Database
) -> None:
    project = factory.project()
    # As if the token's use had just been written: no after-answer write to tell apart from
    # the request's own statements (the log line counts the request's only).
    USAGE.due(manager.token_id)
    with recording(database.engine) as statements:
        response = client.get(f"/api/projects/{project.id}", headers=manager.headers)
    assert response.status_code == 200
    line = _only_request_line(logs, response.headers["X-Request-ID"])
    assert set(line) >= REQUEST_FIELDS
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert line["actor_id"] == manager.token_id
    assert line["method"] == "GET"
    assert line["route"] == "/api/projects/{project_id}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float)
    assert line["duration_ms"] >= 0
    assert line["query_count"] > 0
    assert line["query_count"] == len(statements.statements)
    assert len(logs.requests()) == 1


def test_every_request_gets_its_own_line(
    client: TestClient, logs: LogCapture, manager: Caller
) -> None:
    responses = [
        client.get("/api/projects", headers=manager.headers),
        client.get("/api/projects/999999", headers=manager.headers),
        client.get("/api/projects"),
        client.post("/api/projects", json={}, headers=manager.headers),
        client.get("/healthz"),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 404, 401, 422, 200]
    lines = logs.requests()
    assert [line["request_id"] for line in lines] == [r.headers["X-Request-ID"] for r in responses]
    assert [line["status"] for line in lines] == statuses
    assert [line["route"] for line in lines] == [
        "/api/projects",
        "/api/projects/{project_id}",
        "/api/projects",
        "/api/projects",
        "/healthz",
    ]
    assert lines[0]["actor_id"] == manager.token_id
    assert lines[2]["actor_id"] is None  # no token, no actor
    assert lines[4]["query_count"] == 0  # /healthz never touches the database


def test_route_is_the_template_never_the_concrete_path(
    client: TestClient, logs: LogCapture, manager: Caller, factory: Factory
) -> None:
    project = factory.project()
    supplier = factory.supplier()
    client.get(f"/api/projects/{project.id}/suppliers", headers=manager.headers)
    client.get(f"/api/suppliers/{supplier.id}", headers=manager.headers)
    client.get(f"/no/such/path/{project.id}-xyz", headers=manager.headers)
    routes = [line["route"] for line in logs.requests()]
    assert routes[:2] == ["/api/projects/{project_id}/suppliers", "/api/suppliers/{supplier_id}"]
    assert "xyz" not in routes[2]
    assert str(project.id) not in "".join(routes)


# --- what must never be logged -----------------------------------------------------------------


def test_tokens_are_never_logged(client: TestClient, logs: LogCapture, manager: Caller) -> None:
    bogus = f"st_{_marker()}"
    client.get("/api/projects", headers=manager.headers)
    client.get("/api/projects/0", headers=manager.headers)  # 422
    client.get("/api/projects", headers={"Authorization": f"Bearer {bogus}"})  # 401
    client.post("/api/projects", content=b"{", headers=manager.headers)  # 400
    assert len(logs.requests()) == 4
    assert manager.token not in logs.text
    assert manager.token[3:] not in logs.text
    assert bogus not in logs.text
    assert bogus[3:] not in logs.text


def test_request_bodies_are_never_logged(
    client: TestClient, logs: LogCapture, manager: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = _marker()
    good = {"code": f"C-{uuid.uuid4().hex[:8]}", "name": marker, "description": marker}
    assert client.post("/api/projects", json=good, headers=manager.headers).status_code == 201
    invalid = {"code": "C-x", "name": marker * 20, "sneaky": marker}
    bad = client.post("/api/projects", json=invalid, headers=manager.headers)
    assert bad.status_code == 422
    assert marker not in bad.text  # the envelope does not echo the input either
    malformed = client.post(
        "/api/projects",
        content=f'{{"name": "{marker}"',
        headers={**manager.headers, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400

    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("create failed")

    monkeypatch.setattr(ProjectService, "create", explode)
    crashed = client.post("/api/projects", json={**good, "code": "C-y"}, headers=manager.headers)
    assert crashed.status_code == 500
    assert len(logs.requests()) == 4
    assert marker not in logs.text
    assert manager.token not in logs.text


# --- X-Request-ID ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "incoming",
    [
        "abc",
        "A.b-c_d:e",
        "0" * 64,
        "af458633-0301-4c9f-b246-7925c78686e3",
        "req-2026-11-26T10:00:00.123Z",
    ],
)
def test_sane_request_id_is_kept(client: TestClient, logs: LogCapture, incoming: str) -> None:
    response = client.get("/api/projects/1", headers={"X-Request-ID": incoming})  # 401
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == incoming
    assert response.json()["error"]["requestId"] == incoming
    assert _only_request_line(logs, incoming)["status"] == 401


@pytest.mark.parametrize(
    "incoming",
    [
        "x" * 65,
        "has space",
        "semi;colon",
        "quote'",
        "slash/",
        "abc\r\nSet-Cookie: a=b",
        "abc\n",
    ],
)
def test_insane_request_id_is_replaced(client: TestClient, logs: LogCapture, incoming: str) -> None:
    response = client.get("/api/projects/1", headers={"X-Request-ID": incoming})
    generated = response.headers["X-Request-ID"]
    assert generated != incoming
    assert GENERATED_ID.match(generated)
    assert response.json()["error"]["requestId"] == generated
    line = _only_request_line(logs, generated)
    assert line["status"] == 401
    assert all(line["request_id"] != incoming for line in logs.requests())


def test_missing_request_ids_are_generated_and_distinct(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    assert all(GENERATED_ID.match(value) for value in ids)


def test_longest_sane_request_id_is_recorded_in_the_audit_trail(
    client: TestClient, manager: Caller, factory: Factory
) -> None:
    project = factory.project()
    factory.assign(project, factory.supplier())
    factory.template(project)
    listed = client.get(f"/api/task-instances?projectId={project.id}", headers=manager.headers)
    instance_id = listed.json()["items"][0]["id"]
    request_id = "r" * 64
    patched = client.patch(
        f"/api/task-instances/{instance_id}",
        json={"notes": "checked"},
        headers={**manager.headers, "X-Request-ID": request_id},
    )
    assert patched.status_code == 200, patched.text
    history = client.get(f"/api/task-instances/{instance_id}/history", headers=manager.headers)
    assert history.json()["items"][0]["requestId"] == request_id


# --- level and file ---------------------------------------------------------------------------


def _crash_projects_list(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(message)

    monkeypatch.setattr(ProjectService, "page", explode)


def test_log_level_warning_drops_the_request_line(
    database: Database, manager: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = database.settings.model_copy(update={"log_level": "warning"})
    capture = LogCapture()
    try:
        with TestClient(create_app(settings, database=database)) as client:
            capture.attach()
            assert client.get("/api/projects", headers=manager.headers).status_code == 200
            _crash_projects_list(monkeypatch, "seen at warning")
            # Another page: the first one is answered from the cache now.
            crashed = client.get("/api/projects?limit=7", headers=manager.headers)
            assert crashed.status_code == 500
    finally:
        release_log_handlers()
    assert capture.requests() == []
    assert any("seen at warning" in r.get("exception", "") for r in capture.records())


def _app_lines(output: str) -> list[str]:
    """The lines of supplytrack's own loggers (not the test client's httpx lines)."""
    return [
        line
        for line in output.splitlines()
        if line.strip() and orjson.loads(line)["logger"].startswith("supplytrack")
    ]


def test_log_to_file_writes_the_same_request_lines(
    database: Database, manager: Caller, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "nested" / "supplytrack.log"
    settings = database.settings.model_copy(
        update={"log_level": "info", "log_to_file": str(log_file)}
    )
    try:
        with TestClient(create_app(settings, database=database)) as client:
            capsys.readouterr()
            ids = [
                client.get("/api/projects", headers=manager.headers).headers["X-Request-ID"],
                client.get("/api/projects/424242", headers=manager.headers).headers["X-Request-ID"],
            ]
    finally:
        release_log_handlers()
    stdout = _app_lines(capsys.readouterr().out)
    written = _app_lines(log_file.read_text(encoding="utf-8"))
    requests = [orjson.loads(line) for line in written]
    assert [r["request_id"] for r in requests if r["logger"] == "supplytrack.request"] == ids
    assert written == stdout


@pytest.mark.parametrize(("value", "written"), [("true", True), ("1", True), ("false", False)])
def test_log_to_file_true_uses_the_default_path(
    database: Database,
    manager: Caller,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    written: bool,
) -> None:
    """LOG_TO_FILE=true (the planning notes' form) writes logs/supplytrack.log."""
    monkeypatch.chdir(tmp_path)
    settings = database.settings.model_copy(update={"log_level": "info", "log_to_file": value})
    try:
        with TestClient(create_app(settings, database=database)) as client:
            request_id = client.get("/api/projects", headers=manager.headers).headers[
                "X-Request-ID"
            ]
    finally:
        release_log_handlers()
    default = tmp_path / "logs" / "supplytrack.log"
    assert default.exists() == written
    assert not (tmp_path / value).exists()
    if written:
        assert request_id in default.read_text(encoding="utf-8")


def test_log_to_file_writes_the_same_error_lines(
    database: Database,
    manager: Caller,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_file = tmp_path / "supplytrack.log"
    settings = database.settings.model_copy(
        update={"log_level": "info", "log_to_file": str(log_file)}
    )
    _crash_projects_list(monkeypatch, "to both places")
    try:
        with TestClient(create_app(settings, database=database)) as client:
            capsys.readouterr()
            assert client.get("/api/projects", headers=manager.headers).status_code == 500
    finally:
        release_log_handlers()
    stdout = _app_lines(capsys.readouterr().out)
    written = _app_lines(log_file.read_text(encoding="utf-8"))
    assert any("to both places" in line for line in written)
    assert written == stdout


# --- 500 ------------------------------------------------------------------------------------


def test_unexpected_error_is_an_opaque_500_with_a_logged_traceback(
    client: TestClient, logs: LogCapture, manager: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"internal detail {_marker()}"
    _crash_projects_list(monkeypatch, secret)
    response = client.get("/api/projects", headers={**manager.headers, "X-Request-ID": "trace-1"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "trace-1"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert body["error"]["requestId"] == "trace-1"
    assert body["error"]["details"] == []
    for leak in (secret, "Traceback", "RuntimeError", "projects", ".py"):
        assert leak not in body["error"]["message"]
    assert secret not in response.text
    errors = [r for r in logs.records() if "exception" in r]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "trace-1"
    assert errors[0]["level"] == "error"
    assert "Traceback" in errors[0]["exception"]
    assert f"RuntimeError: {secret}" in errors[0]["exception"]
    assert _only_request_line(logs, "trace-1")["status"] == 500


def _failing_history_append(monkeypatch: pytest.MonkeyPatch) -> None:
    """A database error whose parameters hold request data (here: the new notes)."""

    def append(self: HistoryRepository, rows: Any, changed_at: Any) -> None:
        # rows are tuples in HISTORY_COLUMNS order: index 3 is the new value (the notes).
        self.session.execute(
            text("SELECT no_such_column FROM task_instance_history WHERE reason = :r"),
            {"r": rows[0][3]},
        )

    monkeypatch.setattr(HistoryRepository, "append", append)


def _patch_notes(client: TestClient, manager: Caller, factory: Factory, notes: str) -> Any:
    project = factory.project()
    factory.assign(project, factory.supplier())
    factory.template(project)
    listed = client.get(f"/api/task-instances?projectId={project.id}", headers=manager.headers)
    instance_id = listed.json()["items"][0]["id"]
    return client.patch(
        f"/api/task-instances/{instance_id}",
        json={"notes": notes},
        headers={**manager.headers, "X-Request-ID": "db-error-1"},
    )


def test_database_error_500_logs_its_traceback_with_the_request_id(
    client: TestClient,
    logs: LogCapture,
    manager: Caller,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    session: Session,
) -> None:
    _failing_history_append(monkeypatch)
    response = _patch_notes(client, manager, factory, "harmless")
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "INTERNAL_ERROR",
        "message": response.json()["error"]["message"],
        "details": [],
        "requestId": "db-error-1",
    }
    assert "no_such_column" not in response.text
    errors = [r for r in logs.records() if "exception" in r]
    assert len(errors) == 1
    assert "no_such_column" in errors[0]["exception"]
    assert errors[0].get("request_id") == "db-error-1"


def test_database_error_logs_no_request_data(
    client: TestClient,
    logs: LogCapture,
    manager: Caller,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = _marker()
    _failing_history_append(monkeypatch)
    response = _patch_notes(client, manager, factory, marker)
    assert response.status_code == 500
    assert any("no_such_column" in r.get("exception", "") for r in logs.records())
    assert marker not in logs.text


@pytest.fixture(autouse=True)
def _restore_root_level() -> Iterator[None]:
    """configure_logging() sets the root level; put it back for the tests that follow."""
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


# --- for people: a readable line on a terminal ---------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("log_format", "terminal", "console"),
    [
        ("auto", True, True),
        ("auto", False, False),
        ("json", True, False),
        ("console", False, True),
    ],
)
def test_console_lines_on_a_terminal_json_otherwise(
    database: Database, log_format: str, terminal: bool, console: bool
) -> None:
    settings = database.settings.model_copy(update={"log_format": log_format})
    stream = _Terminal() if terminal else io.StringIO()
    assert wants_console(settings, stream) is console


def test_console_format_writes_one_readable_line_per_request(
    database: Database, manager: Caller, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = database.settings.model_copy(update={"log_level": "info", "log_format": "console"})
    try:
        with TestClient(create_app(settings, database=database)) as client:
            capsys.readouterr()
            request_id = client.get("/api/projects", headers=manager.headers).headers[
                "X-Request-ID"
            ]
    finally:
        release_log_handlers()
    lines = [line for line in capsys.readouterr().out.splitlines() if request_id in line]
    assert len(lines) == 1, lines
    line = lines[0]
    assert not line.lstrip().startswith("{")  # not JSON
    for part in ("request", "GET", "/api/projects", "status=200", "duration_ms="):
        assert part in line, line


def test_debug_logging_leaves_out_the_consumers_idle_polls(database: Database) -> None:
    settings = database.settings.model_copy(update={"log_level": "debug"})
    try:
        configure_logging(settings)
        assert logging.getLogger("supplytrack").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("huey.consumer").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("huey.consumer").isEnabledFor(logging.INFO)
    finally:
        release_log_handlers()


def test_the_direct_request_line_is_the_line_the_chain_writes(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """log_request writes straight to the JSON outputs: the same keys, order and values."""
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    configure_logging(
        database.settings.model_copy(update={"log_level": "info", "log_format": "json"})
    )
    try:
        fields = {
            "request_id": "r1",
            "actor_id": 7,
            "method": "PATCH",
            "route": "/api/task-instances/{instance_id}",
            "status": 200,
            "duration_ms": 1.25,
            "query_count": 4,
        }
        handlers = logging.getLogger().handlers
        assert [type(handler).__name__ for handler in handlers] == ["_Tee"]  # the direct case
        log_request(dict(fields))
        structlog.get_logger(REQUEST_LOGGER).info("request", **fields)  # through the chain
        direct, chained = (orjson.loads(line) for line in out.getvalue().splitlines())
        for line in (direct, chained):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line.pop("ts"))
        assert list(direct.items()) == list(chained.items())
    finally:
        release_log_handlers()
