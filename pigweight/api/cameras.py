"""Camera routes: list, start/stop, status, platform zone, snapshot and the MJPEG stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from pigweight.api.camera_schemas import CameraPublic, CameraStatusPublic, ZonePublic, ZoneUpdate
from pigweight.api.live_deps import LiveDep, WorkerDep
from pigweight.api.refusals import Unavailable
from pigweight.api.schemas import ErrorPublic
from pigweight.media.images import encode_jpeg
from pigweight.pipeline.camera_worker import CameraWorker
from pigweight.pipeline.hub import Hub
from pigweight.zones import zone_from_value

router = APIRouter(tags=["cameras"])

_BOUNDARY = "frame"
_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/api/cameras", response_model=list[CameraPublic])
async def list_cameras(live: LiveDep) -> list[CameraPublic]:
    """Every configured camera with its status; URLs have their passwords hidden."""
    return [
        CameraPublic.of(
            live.manager.worker(cid),
            live.hub.max_queue_depth(cid),
            cid in live.scales,
            live.manager.zones,
        )
        for cid in live.manager.cameras
    ]


@router.put(
    "/api/cameras/{camera_id}/zone",
    response_model=ZonePublic,
    responses={422: {"model": ErrorPublic, "description": "Not a usable polygon."}},
)
async def set_zone(body: ZoneUpdate, worker: WorkerDep, live: LiveDep) -> ZonePublic:
    """Set the platform zone drawn on the page (null: remove it); the next frame uses it."""
    zone = zone_from_value(body.zone)
    cid = worker.config.id
    await anyio.to_thread.run_sync(live.manager.zones.set, cid, zone)  # fsync: the disk
    return ZonePublic.of(live.manager.zones, cid)


@router.get("/api/cameras/{camera_id}/status", response_model=CameraStatusPublic)
async def camera_status(worker: WorkerDep, live: LiveDep) -> CameraStatusPublic:
    """What the camera is doing now, with its statistics."""
    cid = worker.config.id
    return CameraStatusPublic.of(cid, worker.status(), live.hub.max_queue_depth(cid))


@router.post("/api/cameras/{camera_id}/start", response_model=CameraStatusPublic)
async def start_camera(worker: WorkerDep, live: LiveDep) -> CameraStatusPublic:
    """Start counting; the status then goes connecting -> streaming. A camera whose last
    stop timed out is waited for (up to 10 s, in a thread), then 409 still_stopping."""
    status = await anyio.to_thread.run_sync(live.manager.start, worker.config.id)
    return CameraStatusPublic.of(worker.config.id, status)


@router.post("/api/cameras/{camera_id}/stop", response_model=CameraStatusPublic)
async def stop_camera(worker: WorkerDep, live: LiveDep) -> CameraStatusPublic:
    """Stop counting; returns once the camera's threads have ended."""
    status = await anyio.to_thread.run_sync(live.manager.stop, worker.config.id)
    return CameraStatusPublic.of(worker.config.id, status)


@router.get(
    "/api/cameras/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def snapshot(
    worker: WorkerDep,
    live: LiveDep,
    raw: bool = Query(False, description="1: the bare frame, without masks and count."),
) -> Response:
    """The last counted frame as JPEG, with masks and the count drawn on it."""
    cid = worker.config.id
    if raw:
        image = live.hub.latest_raw(cid)
        if image is not None:
            jpeg = await anyio.to_thread.run_sync(encode_jpeg, image)
            return Response(jpeg, media_type="image/jpeg", headers=_NO_STORE)
    else:
        update = live.hub.latest_frame(cid)
        if update is not None and update.jpeg is not None:
            return Response(update.jpeg, media_type="image/jpeg", headers=_NO_STORE)
    raise _no_frame(worker)


class NoFrameYet(Unavailable):
    """The camera has not decoded a frame (yet): worth asking again in a moment."""

    retry_after_s = 2


def _no_frame(worker: CameraWorker) -> NoFrameYet:
    status = worker.status()
    hint = "start it with POST /api/cameras/{id}/start" if status.state.value == "stopped" else ""
    reason = f" ({status.last_error})" if status.last_error else ""
    return NoFrameYet(
        f"camera {worker.config.id!r} has no frame yet: it is {status.state.value}{reason}"
        + (f"; {hint}" if hint else "")
    )


@router.get("/api/cameras/{camera_id}/mjpeg")
async def mjpeg(worker: WorkerDep, live: LiveDep) -> StreamingResponse:
    """The annotated frames as multipart/x-mixed-replace (an <img> plays it)."""
    return StreamingResponse(
        _mjpeg_parts(live.hub, worker.config.id),
        media_type=f"multipart/x-mixed-replace; boundary={_BOUNDARY}",
        headers=_NO_STORE,
    )


async def _mjpeg_parts(hub: Hub, camera_id: str) -> AsyncIterator[bytes]:
    subscriber = hub.subscribe(camera_id)
    try:
        first = hub.latest_frame(camera_id)
        if first is not None and first.jpeg is not None:
            yield _part(first.jpeg)
        while True:
            update = await subscriber.get()
            if update is None:
                return  # the hub disconnected this client (behind for too long, shutdown)
            if update.jpeg is not None:
                yield _part(update.jpeg)
    finally:
        hub.unsubscribe(subscriber)


def _part(jpeg: bytes) -> bytes:
    head = (
        f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    ).encode("ascii")
    return head + jpeg + b"\r\n"
