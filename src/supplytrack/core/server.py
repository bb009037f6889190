"""uvicorn's HTTP protocol with one change: a request it cannot parse gets the error envelope.

A negative Content-Length, an oversized request line or a NUL in a header never reaches the
application: uvicorn answers it itself, in text/plain. This subclass answers the same 400 in
the service's JSON envelope (with a request id of its own, and the security headers), then
closes the connection as uvicorn does. Everything else is uvicorn's.
"""

from __future__ import annotations

import uuid

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from supplytrack.core.middleware import with_security_headers


class EnvelopeHttpTools(HttpToolsProtocol):
    """HttpToolsProtocol whose unparseable requests are answered in the error envelope."""

    def send_400_response(self, msg: str) -> None:
        """The 400 of a malformed request, as JSON."""
        request_id = uuid.uuid4().hex
        body = orjson.dumps(
            {
                "error": {
                    "code": "MALFORMED_REQUEST",
                    "message": f"the request is not valid HTTP ({msg.rstrip('.')})",
                    "details": [],
                    "requestId": request_id,
                }
            }
        )
        headers = with_security_headers(
            [
                *self.server_state.default_headers,
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
            ],
            "",
        )
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\n" + head + b"\r\n" + body)
        self.transport.close()
