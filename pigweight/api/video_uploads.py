"""Videos into the archive over HTTP: a one-shot upload (multipart) and the resumable one
(create, state, PATCH the bytes at an offset, discard). The body streams to disk chunk by
chunk in a worker thread, so memory stays flat for any file size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pigweight.api.filename_header import header_filename
from pigweight.api.multipart_stream import file_part
from pigweight.api.video_files import MEDIA_WORK, archive_of, video_out
from pigweight.errors import PigWeightError
from pigweight.media.uploads import UploadState

router = APIRouter(prefix="/api/video_file", tags=["video archive"])


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(gt=0, description="Bytes the whole file will have.")


@router.post("/upload", status_code=201)
async def upload(
    request: Request,
    x_filename: Annotated[
        str | None,
        Header(
            max_length=1024,
            description="The file's name; in any script as encodeURIComponent(name) or "
            "UTF-8''%XX… (RFC 8187).",
        ),
    ] = None,
    content_length: Annotated[int | None, Header()] = None,
) -> dict[str, Any]:
    """One-shot upload: the raw body (X-Filename: name.mp4) or a multipart form field 'file'."""
    archive = archive_of(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        name, chunks = await file_part(request)
        path = await archive.uploads.receive(name, chunks, None)
    else:
        if not x_filename:
            raise PigWeightError(
                "name the file: send it as the raw body with an X-Filename header "
                "(curl --data-binary @nvr.mp4 -H 'X-Filename: nvr.mp4' ...) or as the "
                "multipart form field 'file'"
            )
        name = header_filename(x_filename)
        path = await archive.uploads.receive(name, _body(request), content_length)
    row = await anyio.to_thread.run_sync(
        archive.add_file, path, path.name, "upload", limiter=MEDIA_WORK
    )
    return video_out(row)


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


@router.post("/uploads", status_code=201)
async def create_upload(request: Request, body: UploadIn) -> dict[str, Any]:
    """Start a resumable upload: then PATCH the bytes from the returned offset."""
    state = await anyio.to_thread.run_sync(
        archive_of(request).uploads.create, body.filename, body.size
    )
    return _upload_out(state)


@router.get("/uploads/{upload_id}")
@router.head("/uploads/{upload_id}")
async def upload_state(request: Request, upload_id: str, response: Response) -> dict[str, Any]:
    """Where an upload stands: resume by PATCHing from `offset`."""
    state = await anyio.to_thread.run_sync(archive_of(request).uploads.state, upload_id)
    response.headers["Upload-Offset"] = str(state.offset)
    if state.size is not None:
        response.headers["Upload-Length"] = str(state.size)
    response.headers["Cache-Control"] = "no-store"
    return _upload_out(state)


@router.delete("/uploads/{upload_id}", status_code=204)
async def discard_upload(request: Request, upload_id: str) -> Response:
    """Give up an upload: its partial file is deleted."""
    await anyio.to_thread.run_sync(archive_of(request).uploads.discard, upload_id)
    return Response(status_code=204)


@router.patch("/uploads/{upload_id}")
async def upload_bytes(
    request: Request,
    upload_id: str,
    response: Response,
    upload_offset: Annotated[int, Header(ge=0, description="Bytes already on the server.")],
    upload_length: Annotated[
        int | None, Header(gt=0, description="The whole file's size, if not given at creation.")
    ] = None,
) -> dict[str, Any]:
    """Append the body at Upload-Offset; when the last byte arrives the video is added."""
    archive = archive_of(request)
    state = await archive.uploads.append(
        upload_id, upload_offset, _body(request), length=upload_length
    )
    response.headers["Upload-Offset"] = str(state.offset)
    out = _upload_out(state)
    if state.done:
        path = await anyio.to_thread.run_sync(archive.uploads.finish, upload_id, archive.videos_dir)
        row = await anyio.to_thread.run_sync(
            archive.add_file, path, state.filename, "upload", limiter=MEDIA_WORK
        )
        out["video"] = video_out(row)
    return out


def _upload_out(state: UploadState) -> dict[str, Any]:
    return {
        "upload_id": state.id,
        "filename": state.filename,
        "offset": state.offset,
        "size": state.size,
        "done": state.done,
    }
