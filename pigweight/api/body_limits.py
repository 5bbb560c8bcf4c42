"""Request bodies are bounded: an oversize or endless body is refused, never kept whole."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pigweight.api.errors import (
    RefusedWhileReading,
    UploadTooLarge,
    refusal_response,
    upload_limit_message,
)
from pigweight.api.refusals import BodyTooLarge
from pigweight.settings import LimitSettings

CHUNK_BYTES = 1024 * 1024
# Room for the multipart boundary and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
PHOTO_PATH = "/api/count_image"
VIDEO_UPLOAD_PATH = "/api/video_file/upload"  # POST, streamed to disk
_UPLOAD_BYTES_PATH = re.compile(r"/api/video_file/uploads/[^/]+")  # PATCH, streamed to disk
# A zipped labelled folder or an ONNX model (issue 19), POST
TEACHING_IMPORT_PATH = re.compile(r"/api/(labelling|models|central/models)/[^/]+/import")
TEACHING_IMPORT_MB = 1024.0


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


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """The most bytes a request body may have, and the 413 answer past them."""

    max_bytes: int
    message: str
    code: str

    def refusal(self) -> BodyTooLarge:
        return BodyTooLarge(self.message, self.code)


LimitFor = Callable[[str, str], BodyLimit | None]  # (method, path) -> limit; None: none here


class BodyLimitMiddleware:
    """Refuse a request body over its route's limit before anything reads it whole.

    A Content-Length over the limit is answered from the header alone; a chunked body is
    counted as it is read. The video upload routes are left to their own cap and free-space
    check (media/uploads.py): they stream to disk, whatever the size.
    """

    def __init__(self, app: ASGIApp, limit_for: LimitFor) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = (
            self.limit_for(scope["method"], _route_path(scope)) if scope["type"] == "http" else None
        )
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await refusal_response(limit.refusal())(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise RefusedWhileReading(limit.refusal())
            return message

        await self.app(scope, limited_receive, send)


def body_limits(limits: LimitSettings) -> LimitFor:
    """Each route's body limit: photos MAX_UPLOAD_MB, videos their own, the rest JSON's."""
    photo = BodyLimit(
        limit_bytes(limits.max_upload_mb) + MULTIPART_OVERHEAD_BYTES,
        upload_limit_message(limits.max_upload_mb),
        "upload_too_large",
    )
    json_body = BodyLimit(
        limits.max_json_body_bytes,
        f"the request body is larger than {limits.max_json_body_bytes} bytes "
        "(MAX_JSON_BODY_BYTES); send a smaller request",
        "body_too_large",
    )

    teaching = BodyLimit(
        limit_bytes(TEACHING_IMPORT_MB) + MULTIPART_OVERHEAD_BYTES,
        f"the upload is larger than {TEACHING_IMPORT_MB:g} MB; import a smaller zip or model",
        "upload_too_large",
    )

    def limit_for(method: str, path: str) -> BodyLimit | None:
        if (method, path) == ("POST", VIDEO_UPLOAD_PATH) or (
            method == "PATCH" and _UPLOAD_BYTES_PATH.fullmatch(path)
        ):
            return None
        if method == "POST" and TEACHING_IMPORT_PATH.fullmatch(path):
            return teaching
        return photo if path == PHOTO_PATH else json_body

    return limit_for


def _route_path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
