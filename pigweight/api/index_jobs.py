"""The file of a queued index job, for `pigweight worker` over HTTP Range
(sites/index_source.py: the token that opens it instead of a login)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request

from pigweight.api.deps import RowIdPath
from pigweight.api.file_response import RangeFileResponse
from pigweight.api.schemas import ErrorPublic
from pigweight.api.video_files import MEDIA_WORK, archive_of
from pigweight.pipeline.archive import Archive
from pigweight.sites.index_source import TOKEN_HEADER, IndexTokenRefused, JobTokens
from pigweight.store.videos import PENDING_STATES

router = APIRouter(prefix="/api/index_jobs", tags=["index workers"])


@router.get(
    "/{video_id}/file",
    responses={
        206: {"description": "The bytes of the Range asked for."},
        403: {
            "model": ErrorPublic,
            "description": "No token, another video's, an expired one, or no pending job.",
        },
        404: {"model": ErrorPublic, "description": "No such video, or its file is gone."},
    },
)
async def job_file(
    request: Request,
    video_id: RowIdPath,
    token: Annotated[
        str | None,
        Header(alias=TOKEN_HEADER, description="The token the index job carries."),
    ] = None,
) -> RangeFileResponse:
    """A recording whose index job is queued, for the worker that has the job: HTTP Range
    requests get 206 with just those bytes. No login: the job's token opens it (403 without
    it, with another video's or an expired one, or once the job is cancelled or over)."""
    archive = archive_of(request)
    path = await anyio.to_thread.run_sync(_open, archive, video_id, token, limiter=MEDIA_WORK)
    return RangeFileResponse(path, media_type="application/octet-stream")


def _open(archive: Archive, video_id: int, token: str | None) -> str:
    JobTokens(archive.data_dir).check(video_id, token)  # first: no token learns what exists
    row = archive.video(video_id)
    if row.index_state not in PENDING_STATES:
        raise IndexTokenRefused(
            f"video {video_id} has no pending index job (it is {row.index_state}): its "
            "file is no longer served to workers"
        )
    return str(archive.raw_path(video_id))
