"""Uploads are read in bounded chunks: an oversize or endless body is refused, never kept."""

from __future__ import annotations

from fastapi import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pigweight.api.errors import UploadTooLarge, error_response, upload_limit_message

CHUNK_BYTES = 1024 * 1024
# Room for the multipart boundary and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def limit_bytes(limit_mb: float) -> int:
    """MAX_UPLOAD_MB in bytes (1 MB = 1024 * 1024 bytes, as file managers show it)."""
    return int(limit_mb * 1024 * 1024)


async def read_upload(file: UploadFile, limit_mb: float) -> bytes:
    """The uploaded file's bytes, read chunk by chunk; UploadTooLarge past the limit."""
    cap = limit_bytes(limit_mb)
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(CHUNK_BYTES):
        size += len(chunk)
        if size > cap:
            raise UploadTooLarge(limit_mb)
        chunks.append(chunk)
    return b"".join(chunks)


class UploadLimitMiddleware:
    """Refuse request bodies over MAX_UPLOAD_MB before the form parser spools them to disk."""

    def __init__(self, app: ASGIApp, limit_mb: float, exempt_prefix: str | None = None) -> None:
        self.app = app
        self.exempt_prefix = exempt_prefix
        self.limit_mb = limit_mb
        self.max_body_bytes = limit_bytes(limit_mb) + MULTIPART_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exempt = self.exempt_prefix is not None and str(scope.get("path", "")).startswith(
            self.exempt_prefix
        )
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or exempt:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            # Answer from the header alone: not one byte of the body is read.
            response = error_response(413, upload_limit_message(self.limit_mb), "upload_too_large")
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Chunked bodies have no Content-Length. FastAPI's body parser passes an
                    # HTTPException through unchanged (anything else would become a 400).
                    raise HTTPException(413, upload_limit_message(self.limit_mb))
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
