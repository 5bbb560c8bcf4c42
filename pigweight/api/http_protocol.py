"""uvicorn's HTTP protocol with its one answer of its own, the 400 for a request it cannot
parse, sent as `{detail, code}` JSON like every other error of the service.

Such a request (a bad request line, a header without a colon, a bad chunk size) never
reaches the app, so no exception handler can shape the answer: the protocol writes the
bytes api/errors.py renders for BadHttpRequest. `pigweight serve` passes HTTP_PROTOCOL to
uvicorn.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from pigweight.api.errors import refusal_bytes
from pigweight.api.refusals import BadHttpRequest


def bad_http_answer(msg: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers (the connection closes after it) and body of uvicorn's 400."""
    status_code, headers, body = refusal_bytes(BadHttpRequest(msg))
    return status_code, [*headers, (b"connection", b"close")], body


class JsonErrorH11Protocol(H11Protocol):
    """h11 (pure Python, the same on every platform) with a JSON 400."""

    def send_400_response(self, msg: str) -> None:
        status_code, headers, body = bad_http_answer(msg)
        for event in (
            h11.Response(
                status_code=status_code,
                headers=headers,
                reason=HTTPStatus(status_code).phrase.encode(),
            ),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()


try:
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
except ImportError:  # httptools is optional: uvicorn falls back to h11, and so do we
    HTTP_PROTOCOL: type[asyncio.Protocol] = JsonErrorH11Protocol
else:

    class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
        """httptools (uvicorn's default where installed) with a JSON 400."""

        def send_400_response(self, msg: str) -> None:
            status_code, headers, body = bad_http_answer(msg)
            content = [STATUS_LINE[status_code]]
            for name, value in [*self.server_state.default_headers, *headers]:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend([b"\r\n", body])
            self.transport.write(b"".join(content))
            self.transport.close()

    HTTP_PROTOCOL = JsonErrorHttpToolsProtocol
