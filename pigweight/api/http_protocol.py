"""uvicorn's HTTP protocol with its one answer of its own, the 400 for a request it cannot
parse, sent as `{detail, code}` JSON like every other error of the service.

Such a request (a bad request line, a header without a colon, a bad chunk size) never
reaches the app, so no exception handler can shape the answer: the protocol writes it.
`pigweight serve` passes HTTP_PROTOCOL to uvicorn.
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

BAD_HTTP_CODE = "bad_http_request"


def bad_http_body(msg: str) -> bytes:
    """The JSON body of uvicorn's 400 for a request that is not valid HTTP/1.1."""
    detail = (
        f"the request is not valid HTTP/1.1 ({msg.rstrip('.')}); "
        "check the request line and the headers the client sends"
    )
    return json.dumps({"detail": detail, "code": BAD_HTTP_CODE}).encode()


class JsonErrorH11Protocol(H11Protocol):
    """h11 (pure Python, the same on every platform) with a JSON 400."""

    def send_400_response(self, msg: str) -> None:
        body = bad_http_body(msg)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
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
            body = bad_http_body(msg)
            content = [STATUS_LINE[400]]
            for name, value in self.server_state.default_headers:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend(
                [
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
            self.transport.write(b"".join(content))
            self.transport.close()

    HTTP_PROTOCOL = JsonErrorHttpToolsProtocol
