"""The video archive over HTTP: registration, index queries, exact frames, HLS and the
original file with Range (uploads: `video_uploads.py`; a weighing from a frame:
`archive_weighing.py`).

Every handler that touches the disk or the CPU runs its work in a worker thread; uploads
stream the request body to disk chunk by chunk, so memory stays flat for any file size.
"""

from __future__ import annotations

import gzip
import json
import math
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import anyio
from fastapi import APIRouter, Query, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from pigweight.api.deps import RowIdPath, RowIdQuery
from pigweight.api.file_response import RangeFileResponse
from pigweight.api.schemas import ErrorPublic, body_of
from pigweight.auth import signing
from pigweight.errors import PigWeightError
from pigweight.media.recorded_at import RecordingStart, recording_start
from pigweight.pipeline.archive import Archive
from pigweight.store.videos import VideoRow
from pigweight.zones import zone_from_value

router = APIRouter(prefix="/api/video_file", tags=["video archive"])
ws_router = APIRouter(tags=["video archive"])

IMMUTABLE = "public, max-age=31536000, immutable"
# Index queries are cheap reads; remuxing and frames decode: bound those threads.
MEDIA_WORK = anyio.CapacityLimiter(4)


def archive_of(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(
        min_length=1, max_length=4096, description="A file or folder under MEDIA_ROOTS."
    )


def video_out(row: VideoRow) -> dict[str, Any]:
    """A video as the API shows it (no server path: files are addressed by id)."""
    info = row.info
    return {
        "id": row.id,
        "name": row.name,
        "source": row.source,
        "size_bytes": info.size_bytes,
        "container": info.container,
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
        "duration_s": round(info.duration_s, 3),
        "keyframes": len(info.keyframes),
        "truncated": info.truncated,
        "browser_playable": info.browser_playable,
        "index": {
            "state": row.index_state,
            "error": row.index_error,
            "samples_done": row.samples_done,
            "samples_total": row.samples_total,
            "indexed_until_s": row.indexed_until_s,
        },
        "hls_url": f"/api/video_file/stream_hls/{row.id}",
        "thumbnails_vtt": f"/api/video_file/{row.id}/thumbs.vtt",
        "zone": row.zone,
    }


@router.get("")
async def list_videos(request: Request) -> list[dict[str, Any]]:
    """Every video with its index state."""
    rows = await anyio.to_thread.run_sync(archive_of(request).videos)
    return [video_out(r) for r in rows]


@router.post("/register", status_code=201)
async def register(request: Request, body: RegisterIn) -> list[dict[str, Any]]:
    """Add a file or a folder's videos that already lie under MEDIA_ROOTS."""
    rows = await anyio.to_thread.run_sync(
        archive_of(request).register, body.path, limiter=MEDIA_WORK
    )
    return [video_out(r) for r in rows]


class CountAtTimeFastPath:
    """ASGI middleware: `GET /api/video_file/count_at_time` answered from memory before
    FastAPI routes and validates it.

    A player asks many times a second, and most answers are a lookup in the indexer's
    in-memory samples (microseconds) that FastAPI's routing, validation and serialisation
    would multiply. Anything this path does not answer itself (a query that is not exactly
    a valid `id` and `t`, a video not loaded yet, a time with no sample near it, a time
    outside the recording) goes on to the endpoint below, which answers or explains.
    """

    def __init__(self, app: ASGIApp, archive: Archive) -> None:
        self.app = app
        self.archive = archive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == COUNT_AT_TIME_PATH:
            body = self._answer(scope["query_string"]) if scope["method"] == "GET" else None
            if body is not None:
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, query_string: bytes) -> bytes | None:
        try:
            params = dict(parse_qsl(query_string.decode("ascii"), strict_parsing=True))
            video_id, t = int(params.pop("id")), float(params.pop("t"))
        except (KeyError, ValueError, UnicodeDecodeError):
            return None
        if params or not (math.isfinite(t) and t >= 0):
            return None
        try:
            answer = self.archive.count_at_cached(video_id, t)
        except PigWeightError:
            return None
        if answer is None:
            return None
        return json.dumps(body_of(answer), separators=(",", ":")).encode()


class CountAtTime(BaseModel):
    """The count shown at t, from the sample at sample_t."""

    t: float = Field(description="The time asked for, seconds from the start.")
    count: int
    confidence: float = Field(ge=0, le=1)
    sample_t: float = Field(description="The counted frame's own time (at or before t).")
    indexed: bool = Field(description="False: counted for a query, not by the index pass yet.")
    outside: int = Field(
        0, ge=0, description="Animals seen outside the recording's zone (not in `count`)."
    )


COUNT_AT_TIME_PATH = "/api/video_file/count_at_time"


@router.get("/count_at_time", response_model=CountAtTime)
async def count_at_time(
    request: Request,
    video_id: RowIdQuery,
    t: Annotated[float, Query(ge=0, description="Seconds from the start of the video.")],
    exact: Annotated[
        bool,
        Query(
            description="The very frame shown at t (a paused player): counted now where the "
            "index's nearest sample is another frame."
        ),
    ] = False,
) -> Any:
    """The count at t from the index; computed on demand (and kept) where not indexed yet.

    Queries the samples in memory answer are answered by CountAtTimeFastPath before they
    get here; what reaches the endpoint needs a worker thread (the database, or counting
    the frame), or an explanation of what is wrong with it.
    """
    archive = archive_of(request)
    answer = await anyio.to_thread.run_sync(
        archive.count_at, video_id, t, exact, limiter=MEDIA_WORK
    )
    return body_of(answer)


@router.get("/count_series")
async def count_series(
    request: Request,
    video_id: RowIdQuery,
    from_: Annotated[float, Query(alias="from", ge=0)] = 0.0,
    to: Annotated[float | None, Query(ge=0)] = None,
    # A step near 0 made the bucket index infinite (5e-324: a 500, found by
    # tests/api/test_fuzz.py); a millisecond is finer than any frame.
    step: Annotated[float, Query(ge=0.001, le=3600)] = 10.0,
) -> dict[str, Any]:
    """Counts for a timeline: one point per `step` seconds between from and to."""
    archive = archive_of(request)
    row = await anyio.to_thread.run_sync(archive.video, video_id)
    end = row.info.duration_s if to is None else min(to, row.info.duration_s)
    points = await anyio.to_thread.run_sync(archive.series, video_id, from_, end, step)
    return {
        "id": video_id,
        "from": from_,
        "to": end,
        "step": step,
        "points": [body_of(p) for p in points],
    }


@router.get("/{video_id}/samples")
async def samples(
    request: Request,
    video_id: RowIdPath,
    from_: Annotated[float, Query(alias="from", ge=0)] = 0.0,
    to: Annotated[float | None, Query(ge=0, description="Default: from + 60 s.")] = None,
) -> dict[str, Any]:
    """The counted frames in [from, to] (at most 600 s) with each animal's outline, so a
    player can draw what was counted on the frame it shows."""
    archive = archive_of(request)
    end = from_ + 60.0 if to is None else to
    rows = await anyio.to_thread.run_sync(archive.samples, video_id, from_, end)
    interval_s = archive.settings.index_interval_s
    return {
        "id": video_id,
        "from": from_,
        "to": end,
        "interval_s": interval_s,
        "samples": [body_of(r) for r in rows],
    }


class VideoZoneUpdate(BaseModel):
    """PUT /api/video_file/{id}/zone: the recording's platform zone, or null for none."""

    model_config = ConfigDict(extra="forbid")
    # Checked by zones.zone_from_value, so a bad polygon gets one sentence saying what to fix.
    zone: Any = Field(
        description="[[x, y], ...] in 0-1 of the picture, 3 to 64 points; null removes the "
        "zone (the whole frame counts).",
        examples=[[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]],
    )


@router.put(
    "/{video_id}/zone",
    responses={422: {"model": ErrorPublic, "description": "Not a usable polygon."}},
)
async def set_video_zone(
    request: Request, video_id: RowIdPath, body: VideoZoneUpdate
) -> dict[str, Any]:
    """Set the recording's platform zone (null: none): its counts, samples, series, frames
    and weighings count only the animals whose outline's centre lies inside, at once."""
    zone = zone_from_value(body.zone)
    row = await anyio.to_thread.run_sync(archive_of(request).set_zone, video_id, zone)
    return {"zone": row.zone}


@router.get("/{video_id}")
async def get_video(request: Request, video_id: RowIdPath) -> dict[str, Any]:
    archive = archive_of(request)
    row = await anyio.to_thread.run_sync(archive.video, video_id)
    out = video_out(row)
    out["progress"] = body_of(await anyio.to_thread.run_sync(archive.progress, video_id))
    zone = request.app.state.live.records.settings.zone()
    start = await anyio.to_thread.run_sync(recording_start, row.info.path, row.name, zone)
    out["recorded_at"] = _start_out(start, zone)
    return out


def _start_out(start: RecordingStart | None, zone: Any) -> dict[str, Any] | None:
    """When the recording began, in farm time, and where that was read (None: unknown)."""
    if start is None:
        return None
    local = datetime.fromtimestamp(start.ts, zone).isoformat(timespec="seconds")
    return {"ts": start.ts, "local_time": local, "source": start.source}


@router.post("/{video_id}/cancel")
async def cancel_index(request: Request, video_id: RowIdPath) -> dict[str, Any]:
    """Stop indexing this video (what is indexed stays); its progress then."""
    return body_of(await anyio.to_thread.run_sync(archive_of(request).cancel, video_id))


@router.get("/{video_id}/frame.jpg")
async def frame_jpg(
    request: Request,
    video_id: RowIdPath,
    t: Annotated[float, Query(ge=0)],
    overlay: Annotated[bool, Query(description="Draw the animals and the count.")] = False,
) -> Response:
    """The exact frame shown at t (the last frame that starts at or before t)."""
    frame_t, jpeg = await anyio.to_thread.run_sync(
        archive_of(request).frame_jpeg, video_id, t, overlay, limiter=MEDIA_WORK
    )
    return Response(jpeg, media_type="image/jpeg", headers={"X-Frame-Time": f"{frame_t:.6f}"})


@router.get("/stream_hls/{video_id}")
async def stream_hls(request: Request, video_id: RowIdPath) -> Response:
    """VOD playlist from the keyframe index (the media is not read)."""
    archive = archive_of(request)
    compress = "gzip" in request.headers.get("accept-encoding", "")

    # Opened by a signed link: its segments carry the same signature (auth/signing.py).
    signed = {k: request.query_params.get(k, "") for k in signing.PARAMS}
    suffix = "?" + urlencode(signed) if signed["sig"] else ""

    def build() -> bytes:  # planned and compressed off the event loop (a 10 h file: ~1 MB)
        data = archive.playlist(video_id, lambda n: f"{video_id}/{n}.ts{suffix}").encode()
        return gzip.compress(data, compresslevel=5) if compress else data

    data = await anyio.to_thread.run_sync(build)
    headers = {"Cache-Control": "no-cache"}
    if compress:
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    return Response(data, media_type="application/vnd.apple.mpegurl", headers=headers)


@router.get("/stream_hls/{video_id}/{n}.ts")
async def hls_segment(request: Request, video_id: RowIdPath, n: int) -> RangeFileResponse:
    """One segment, remuxed on demand (stream copy for H.264) and cached on disk."""
    path = await anyio.to_thread.run_sync(
        archive_of(request).segment, video_id, n, limiter=MEDIA_WORK
    )
    return RangeFileResponse(path, media_type="video/mp2t", headers={"Cache-Control": IMMUTABLE})


@router.get("/{video_id}/thumbs.vtt")
async def thumbs_vtt(request: Request, video_id: RowIdPath) -> RangeFileResponse:
    """WebVTT cues mapping times to tiles of the sprite sheets (timeline previews)."""
    path = await anyio.to_thread.run_sync(archive_of(request).thumb_file, video_id, "thumbs.vtt")
    return RangeFileResponse(path, media_type="text/vtt", headers={"Cache-Control": "no-cache"})


@router.get("/{video_id}/sprite_{n}.jpg")
async def sprite(request: Request, video_id: RowIdPath, n: int) -> RangeFileResponse:
    """A sheet of timeline thumbnails (404 until the indexer has reached it)."""
    path = await anyio.to_thread.run_sync(
        archive_of(request).thumb_file, video_id, f"sprite_{n}.jpg"
    )
    return RangeFileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})


@router.get("/{video_id}/raw")
async def raw(request: Request, video_id: RowIdPath) -> RangeFileResponse:
    """The original file; HTTP Range requests get 206 with just those bytes."""
    archive = archive_of(request)
    path = await anyio.to_thread.run_sync(archive.raw_path, video_id)
    row = await anyio.to_thread.run_sync(archive.video, video_id)
    return RangeFileResponse(path, filename=row.name, media_type="application/octet-stream")


PROGRESS_EVERY_S = 1.0


@ws_router.websocket("/ws/video_file")
async def ws_progress(websocket: WebSocket, video_id: RowIdQuery) -> None:
    """Indexing progress of a video once a second until it is done, cancelled or failed."""
    archive: Archive = websocket.app.state.archive
    await websocket.accept()
    try:
        while True:
            try:
                progress = await anyio.to_thread.run_sync(archive.progress, video_id)
            except PigWeightError as exc:
                await websocket.close(code=4404, reason=str(exc)[:120])
                return
            await websocket.send_json({"id": video_id, **body_of(progress)})
            if progress.state in ("done", "cancelled", "error"):
                await websocket.close()
                return
            await anyio.sleep(PROGRESS_EVERY_S)
    except WebSocketDisconnect:
        return
