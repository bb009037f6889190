"""The three hottest routes served without FastAPI's per-request machinery, identically.

``GET /api/task-instances``, ``GET /api/task-instances/{id}`` and the PATCH of one instance
are most of the traffic. For the requests this module recognises as plain (known parameters
with clean values, a live bearer token, a JSON body the route's model accepts), it answers
itself. The reads: the token lookup and the query run on a bare driver cursor (statements
compiled once, tasks/reads.py), on the event loop, and rows become JSON directly. The PATCH:
the route's own function (api/tasks.py ``patch_and_read``) in the thread pool, in a unit of
work committed there, without routing, dependency solving or response validation.

Everything else (asOf, a value FastAPI would refuse, an unknown or revoked token, a PATCH the
domain refuses, any database error before a commit) falls through to the FastAPI route,
which stays the definition of the route: its OpenAPI document, its validation and its errors.
``tests/api/test_fast.py`` checks that both answer byte for byte the same. Why:
docs/decisions/0007-hot-reads.md.

It sits inside RequestMiddleware, so request ids, the body cap, the log line and the metrics
are the same as for any route.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from anyio import to_thread
from pydantic import ValidationError
from sqlalchemy import exc
from starlette.types import ASGIApp, Receive, Scope, Send

from supplytrack.api.deps import DATABASE_ERRORS, admit, find_actor
from supplytrack.api.tasks import patch_and_read
from supplytrack.audit.access import note_access
from supplytrack.auth.service import MAX_TOKEN_LENGTH
from supplytrack.core.db import Database
from supplytrack.core.errors import BadRequest, RateLimited, SupplyTrackError
from supplytrack.core.handlers import database_error_response
from supplytrack.core.identity import Actor, Role
from supplytrack.core.middleware import replay_body
from supplytrack.core.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Sort,
    decode_cursor,
    encode_cursor,
    parse_sort,
)
from supplytrack.core.ratelimit import RateLimiter
from supplytrack.core.routing import UnitOfWork
from supplytrack.core.schemas import MAX_ID
from supplytrack.core.time import in_day_range, today
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.reads import READ_COLUMN_NAMES, SORT_COLUMNS, CompiledReads, list_query
from supplytrack.tasks.repository import TaskFilter
from supplytrack.tasks.schemas import TaskInstanceUpdate

LIST_PATH = "/api/task-instances"
ONE_PREFIX = "/api/task-instances/"
_JSON = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STATUSES = frozenset(status.value for status in TaskStatus)
_WRITERS = frozenset({Role.ADMIN, Role.MANAGER, Role.SUPPLIER})  # api/deps.py TaskWriter
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
# A PATCH's outcome in the thread pool: the answer and its version; None to hand the request
# on to the route; or the database error of the commit, answered as the route would.
_Patched = tuple[bytes, int] | Exception | None
_ID_PARAMS = {
    "projectId": "project_id",
    "supplierId": "supplier_id",
    "supplierProjectId": "supplier_project_id",
    "taskTemplateId": "task_template_id",
}
_LIST_PARAMS = frozenset(
    {*_ID_PARAMS, "status", "overdue", "dueBefore", "dueAfter", "sort", "limit", "cursor"}
)
# (camelCase key, position in the row) of TaskInstanceRead, in its field order.
_KEYS = tuple(
    (key, READ_COLUMN_NAMES.index(name))
    for key, name in (
        ("id", "id"),
        ("supplierProjectId", "supplier_project_id"),
        ("projectId", "project_id"),
        ("supplierId", "supplier_id"),
        ("taskTemplateId", "task_template_id"),
        ("status", "status"),
        ("actualDue", "actual_due"),
        ("overdue", "overdue"),
        ("atRisk", "at_risk"),
        ("submittedAt", "submitted_at"),
        ("completedAt", "completed_at"),
        ("notes", "notes"),
        ("createdAt", "created_at"),
        ("updatedAt", "updated_at"),
        ("version", "version"),
    )
)
_FLAGS = (READ_COLUMN_NAMES.index("overdue"), READ_COLUMN_NAMES.index("at_risk"))
_INSTANTS = tuple(
    READ_COLUMN_NAMES.index(name)
    for name in ("submitted_at", "completed_at", "created_at", "updated_at")
)
_SORT_INDEX = {
    "id": READ_COLUMN_NAMES.index("id"),
    "actualDue": READ_COLUMN_NAMES.index("actual_due"),
    "status": READ_COLUMN_NAMES.index("status"),
    "createdAt": READ_COLUMN_NAMES.index("created_at"),
    "updatedAt": READ_COLUMN_NAMES.index("updated_at"),
}


@dataclass(frozen=True, slots=True)
class _Route:
    """What RequestMiddleware reads of a route: its template (logs and metrics)."""

    path: str


LIST_ROUTE = _Route(LIST_PATH)
ONE_ROUTE = _Route(ONE_PREFIX + "{instance_id}")


class Unhandled(Exception):
    """Not a plain request: the FastAPI route answers it."""


def _sqlite_instant(stored: str | None) -> str | None:
    """'2026-01-02 03:04:05.000000' (SQLite's text) as the API writes it, ISO 8601 UTC."""
    if stored is None:
        return None
    text = stored[:10] + "T" + stored[11:]
    if text.endswith(".000000"):
        text = text[:-7]
    return text + "Z"


def _row_converter(sqlite: bool) -> Callable[[Sequence[Any]], dict[str, Any]]:
    def convert(row: Sequence[Any]) -> dict[str, Any]:
        values = list(row)
        for index in _FLAGS:
            values[index] = bool(values[index])
        if sqlite:
            for index in _INSTANTS:
                values[index] = _sqlite_instant(values[index])
        return {key: values[index] for key, index in _KEYS}

    return convert


def _cursor_key(value: Any, sort: Sort) -> Any:
    """A row's sort key as the ORM would give it (instants aware), for the next cursor."""
    if sort.name in {"createdAt", "updatedAt"}:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return value


def _one(params: list[tuple[str, str]], name: str) -> str | None:
    found = [value for key, value in params if key == name]
    if len(found) > 1:
        raise Unhandled
    return found[0] if found else None


def _int(value: str | None, top: int) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= top:
        raise Unhandled
    return int(value)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    if not _ISO_DATE.fullmatch(value):
        raise Unhandled
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise Unhandled from error
    if not in_day_range(day):
        raise Unhandled
    return day


def _list_request(query: str) -> tuple[TaskFilter, Sort, tuple[Any, int] | None, int]:
    """The filter, sort, cursor position and limit of a plain list request."""
    params = parse_qsl(query, keep_blank_values=True)
    if any(key not in _LIST_PARAMS for key, _ in params):
        raise Unhandled
    ids = {field: _int(_one(params, key), MAX_ID) for key, field in _ID_PARAMS.items()}
    statuses = [value for key, value in params if key == "status"]
    if len(statuses) > 7 or not set(statuses) <= _STATUSES:
        raise Unhandled
    overdue = _one(params, "overdue")
    if overdue not in {None, "true", "false"}:
        raise Unhandled
    given_sort = _one(params, "sort")
    sort_name = "id" if given_sort is None else given_sort
    if len(sort_name) > 40 or sort_name.removeprefix("-") not in SORT_COLUMNS:
        raise Unhandled
    sort = parse_sort(sort_name, SORT_COLUMNS, TaskInstance.id)
    given_limit = _int(_one(params, "limit"), MAX_LIMIT)
    limit = DEFAULT_LIMIT if given_limit is None else given_limit
    cursor = _one(params, "cursor")
    try:
        after = decode_cursor(cursor, sort) if cursor is not None else None
    except BadRequest as error:
        raise Unhandled from error
    where = TaskFilter(
        **ids,
        statuses=tuple(TaskStatus(s) for s in sorted(set(statuses))),
        overdue=None if overdue is None else overdue == "true",
        due_before=_day(_one(params, "dueBefore")),
        due_after=_day(_one(params, "dueAfter")),
    )
    return where, sort, after, limit


def _header(scope: Scope, name: bytes) -> str | None:
    """The one value of a header, or None (Unhandled when it is repeated)."""
    found = [bytes(value) for key, value in scope["headers"] if key == name]
    if len(found) > 1:
        raise Unhandled
    return found[0].decode("latin-1") if found else None


async def _body(receive: Receive) -> bytes | None:
    """The request's whole body (RequestMiddleware has capped its size), or None."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _bearer(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
                raise Unhandled
            return token
    raise Unhandled


class FastRoutes:
    """ASGI middleware: the plain requests of the three hot routes, answered directly."""

    def __init__(self, app: ASGIApp, database: Database, limiter: RateLimiter) -> None:
        self.app = app
        self.database = database
        self.limiter = limiter
        engine = database.engine
        self.reads = CompiledReads(engine)
        self.row = _row_converter(self.reads.sqlite)
        self.zone = database.settings.app_timezone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain hot read, or hand the request on."""
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            try:
                if path == LIST_PATH:
                    body, headers = self._list(scope)
                    scope["route"] = LIST_ROUTE
                elif path.startswith(ONE_PREFIX) and "/" not in path[len(ONE_PREFIX) :]:
                    body, headers = self._one_instance(scope, path[len(ONE_PREFIX) :])
                    scope["route"] = ONE_ROUTE
                else:
                    raise Unhandled
            except Unhandled:
                pass
            else:
                await _send(send, body, headers)
                return
        elif (
            scope["type"] == "http"
            and scope["method"] == "PATCH"
            and scope["path"].startswith(ONE_PREFIX)
        ):
            replay = await self._patch(scope, receive, send)
            if replay is not None:
                await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)

    async def _patch(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Answer a plain PATCH (then None), or the receive() that replays its body to the route."""
        body = await _body(receive)
        if body is None:
            return None  # the client went away before its body arrived: nobody to answer
        replay = replay_body(body, receive)
        try:
            work = self._patch_work(scope, body)
        except Unhandled:
            return replay
        outcome = await to_thread.run_sync(work)
        if outcome is None:
            return replay
        scope["route"] = ONE_ROUTE
        if isinstance(outcome, Exception):
            await database_error_response(outcome)(scope, replay, send)
        else:
            answer, version = outcome
            await _send(send, answer, [(b"etag", f'"{version}"'.encode())])
        return None

    def _patch_work(self, scope: Scope, body: bytes) -> Callable[[], _Patched]:
        """The checked request as the work to run in the thread pool (Unhandled if unusual)."""
        path: str = scope["path"]
        instance_id = _int(path[len(ONE_PREFIX) :], MAX_ID)
        content_type = _header(scope, b"content-type")
        if (
            instance_id is None
            or scope["query_string"]
            or content_type is None
            or content_type.strip().lower() not in _JSON_TYPES
        ):
            raise Unhandled
        if_match = _header(scope, b"if-match")
        try:
            command = TaskInstanceUpdate.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError) as error:
            raise Unhandled from error
        actor = self._actor(scope)
        if actor.role not in _WRITERS:
            raise Unhandled
        database, settings = self.database, self.database.settings

        def work() -> _Patched:
            uow = UnitOfWork(database, write=True)
            try:
                try:
                    item = patch_and_read(
                        uow.session, actor, settings, instance_id, command, if_match, uow.reads
                    )
                except (SupplyTrackError, exc.SQLAlchemyError):
                    return None  # refused, or worth the route's retries: nothing was written
                answer = orjson.dumps(item, option=orjson.OPT_UTC_Z)
                try:
                    uow.commit()
                except exc.SQLAlchemyError as error:
                    return error  # the outcome is unknown: answered as the route would
                return answer, item["version"]
            finally:
                uow.close()

        return work

    def _query(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(cursor)`` on the reader; any database error hands the request on.

        (The cursor fires the engine's events: the query count and slow-query log see it.)
        """
        reader = self.database.raw_reader
        try:
            cursor = reader.cursor()
            try:
                return work(cursor)
            finally:
                cursor.close()
        except DATABASE_ERRORS as error:
            reader.discard()
            raise Unhandled from error

    def _actor(self, scope: Scope) -> Actor:
        try:
            actor = find_actor(self.database, _bearer(scope))
        except (*DATABASE_ERRORS, SupplyTrackError) as error:
            raise Unhandled from error  # the route answers it (503, 403 ...)
        if actor is None:
            raise Unhandled  # the route answers 401, exactly as always
        note_access(self.database, actor)
        try:
            admit(self.limiter, actor)
        except RateLimited as error:
            raise Unhandled from error  # the route answers the 429 (refusals are not counted)
        return actor

    def _list(self, scope: Scope) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        where, sort, after, limit = _list_request(scope["query_string"].decode("latin-1"))
        actor = self._actor(scope)
        query = list_query(
            where,
            today(self.zone),
            sort,
            after,
            limit,
            supplier_id=actor.supplier_id if actor.is_supplier else None,
            sqlite=self.reads.sqlite,
        )
        rows = self._query(lambda cursor: self.reads.page(cursor, query))
        items = [self.row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit and items:
            last = rows[limit - 1]
            key = _cursor_key(last[_SORT_INDEX[sort.name]], sort)
            next_cursor = encode_cursor(sort, key, last[0])
        body = orjson.dumps({"items": items, "nextCursor": next_cursor}, option=_JSON)
        return body, []

    def _one_instance(self, scope: Scope, raw_id: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        if scope["query_string"]:
            raise Unhandled  # asOf, or anything else: the route decides
        instance_id = _int(raw_id, MAX_ID)
        assert instance_id is not None
        actor = self._actor(scope)
        supplier_id = actor.supplier_id if actor.is_supplier else None
        day = today(self.zone)
        row = self._query(lambda cursor: self.reads.one(cursor, instance_id, day, supplier_id))
        if row is None:
            raise Unhandled  # the route answers 404, exactly as always
        item = self.row(row)
        return orjson.dumps(item, option=_JSON), [(b"etag", f'"{item["version"]}"'.encode())]


async def _send(send: Send, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                *headers,
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
