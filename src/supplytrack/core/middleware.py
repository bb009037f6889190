"""The outermost request layer: request id, body cap, one log line, metrics, 500 envelope.

Pure ASGI, so that it costs little on the hot path.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supplytrack.core import metrics
from supplytrack.core.context import RequestContext, bind_context, reset_context
from supplytrack.core.handlers import error_body
from supplytrack.core.logging import log_request

# Stored in the audit trail (VARCHAR(64)); fullmatch, so a trailing newline is not "sane".
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_errors = logging.getLogger("supplytrack.errors")
# A percent-escaped control character in a query string: C0 (%00-%1F), DEL, or C1 in UTF-8.
_ESCAPED_CONTROL = re.compile(rb"%(?:[01][0-9a-fA-F]|7[fF]|[cC]2%[89][0-9a-fA-F])")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


# On every answer (a page that needs a looser policy, such as /docs, sets its own CSP).
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
_NO_STORE = (b"cache-control", b"no-store")
_ASSETS_CACHE = (b"cache-control", b"public, max-age=86400")
STATIC_PREFIX = "/static/"
# Routes that are not APIRoutes get their path as the metrics label, not "<unmatched>".
_PLAIN_ROUTES = frozenset({"/", "/docs", "/docs/init.js", "/openapi.json"})


def with_security_headers(
    headers: list[tuple[bytes, bytes]], path: str
) -> list[tuple[bytes, bytes]]:
    """``headers`` with the security headers and a cache policy added where missing."""
    present = {name.lower() for name, _ in headers}
    added = [header for header in _SECURITY_HEADERS if header[0] not in present]
    if b"cache-control" not in present:
        added.append(_ASSETS_CACHE if path.startswith(STATIC_PREFIX) else _NO_STORE)
    return [*headers, *added]


def route_label(scope: Scope) -> str:
    """The metrics and log label of a request: its route template, or what it is."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template:
        return str(template)
    path: str = scope.get("path", "")
    if path in _PLAIN_ROUTES:
        return path
    if path.startswith(STATIC_PREFIX):
        return STATIC_PREFIX + "{file}"
    return "<unmatched>"


class RequestMiddleware:
    """Give every request an id, cap its body, log it once and count it."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, database_budget: float = 0.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.database_budget = database_budget  # seconds; 0: no deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        context = RequestContext()
        if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
            context.request_id = incoming
        token = bind_context(context)
        started = time.perf_counter()
        if self.database_budget:
            context.deadline = time.monotonic() + self.database_budget
        metrics.IN_FLIGHT.inc()
        state: dict[str, Any] = {"status": 500, "started": False}
        request_id_header = (b"x-request-id", context.request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                message["headers"] = with_security_headers(
                    [*message.get("headers", []), request_id_header, *context.response_headers],
                    scope["path"],
                )
            await send(message)

        try:
            if _ESCAPED_CONTROL.search(scope.get("query_string", b"")):
                # No parameter needs a control character (and PostgreSQL cannot store NUL).
                await _send_error(
                    send_with_id,
                    400,
                    "BAD_REQUEST",
                    "query parameters must not contain control characters",
                )
                return
            length = _header(scope, b"content-length")
            if length is not None:
                if not length.isdigit() or int(length) > self.max_body_bytes:
                    await self._too_large(send_with_id)
                    return
            elif scope["method"] not in _BODYLESS:
                # A chunked body: read it here, under the cap, before anything parses it.
                body = await self._buffer(receive)
                if body is None:
                    await self._too_large(send_with_id)
                    return
                receive = replay_body(body, receive)
            await self.app(scope, receive, send_with_id)
        except Exception:
            _errors.exception("unhandled error", extra={"request_id": context.request_id})
            if not state["started"]:
                await _send_error(
                    send_with_id, 500, "INTERNAL_ERROR", "internal error; quote the request id"
                )
        finally:
            metrics.IN_FLIGHT.dec()
            self._log(scope, context, state["status"], started)
            reset_context(token)
        await _finished(scope, context, state["status"])

    async def _buffer(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        await _send_error(
            send, 413, "PAYLOAD_TOO_LARGE", f"request body is over {self.max_body_bytes} bytes"
        )

    @staticmethod
    def _log(scope: Scope, context: RequestContext, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        template = route_label(scope)
        metrics.observe(scope["method"], template, status, elapsed)
        log_request(
            {
                "request_id": context.request_id,
                "actor_id": context.actor_id,
                "method": scope["method"],
                "route": template,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "query_count": context.query_count,
            }
        )


_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive() that hands over the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _after_response(work: Callable[[], None]) -> None:
    """Run bookkeeping after the answer, off the event loop; a failure is logged, not raised."""
    try:
        await run_in_threadpool(work)
    except Exception:
        _errors.exception("after-response work failed")


async def _finished(scope: Scope, context: RequestContext, status: int) -> None:
    """The request is answered: its on_finish hooks, then its after-response work."""
    if context.on_finish:
        _finish(scope, context, status)
    for work in context.after_response:
        await _after_response(work)


def _finish(scope: Scope, context: RequestContext, status: int) -> None:
    """Hand the finished request to its on_finish hooks (a failing hook is logged only)."""
    query = scope.get("query_string", b"").decode("latin-1")
    context.method = scope["method"]
    context.route = route_label(scope)
    context.target = scope.get("path", "") + (f"?{query}" if query else "")
    context.status = status
    for hook in context.on_finish:
        try:
            hook(context)
        except Exception:
            _errors.exception("request hook failed", extra={"request_id": context.request_id})
