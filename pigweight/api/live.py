"""Live counts: WS /ws/count pushes every inference; GET /api/count_series reads the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import anyio
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from pigweight.api.camera_schemas import CountPoint, CountSeriesPublic
from pigweight.api.live_deps import LiveDep, find_worker, get_live
from pigweight.api.refusals import NotFound
from pigweight.pipeline.hub import CountMessage, LiveUpdate, Subscriber

logger = logging.getLogger(__name__)
router = APIRouter(tags=["live"])

# A send that cannot complete in this time means the client stopped reading: drop it.
SEND_TIMEOUT_S = 10.0
# WebSocket pings, which `pigweight serve` sets on uvicorn. A client answers a ping only once
# it has read everything sent before it, so a pong missing for WS_PING_TIMEOUT_S means the
# client is that far behind: the connection is failed and the next send drops the client.
# Without pings a send blocks (and SEND_TIMEOUT_S starts) only once the kernel buffers are
# full: ~35 s of updates on loopback, where they grow to megabytes.
WS_PING_INTERVAL_S = 3.0
WS_PING_TIMEOUT_S = 5.0
# The close frame of a dropped client may never leave a full buffer: do not wait for it.
CLOSE_TIMEOUT_S = 1.0
MAX_WINDOW_S = 31 * 86400.0


@router.get("/api/count_series", response_model=CountSeriesPublic)
async def count_series(
    live: LiveDep,
    camera_id: str | None = Query(None, alias="id", description="Camera id; default the first."),
    window_s: float = Query(600.0, gt=0, le=MAX_WINDOW_S, description="Seconds back from now."),
) -> CountSeriesPublic:
    """Count points of the last `window_s` seconds and the camera's status."""
    worker = find_worker(live, camera_id)
    rows = await anyio.to_thread.run_sync(
        live.store.series, worker.config.id, time.time() - window_s
    )
    return CountSeriesPublic(
        camera=worker.config.id,
        status=worker.status().state.value,
        points=[CountPoint(ts=r.ts, count=r.count, stable_count=r.stable_count) for r in rows],
    )


@router.websocket("/ws/count")
async def ws_count(websocket: WebSocket, camera_id: str | None = Query(None, alias="id")) -> None:
    """`{camera, ts, count, stable_count, confidence, frame_confidence, status, outlines,
    outside_outlines, zone}` on every inference."""
    live = get_live(websocket)
    await websocket.accept()
    try:
        worker = find_worker(live, camera_id)
    except NotFound as exc:
        await websocket.close(code=4404, reason=str(exc)[:120])
        return
    subscriber = live.hub.subscribe(worker.config.id)
    reader = asyncio.get_running_loop().create_task(_drain(websocket, subscriber))
    try:
        first = live.hub.latest(worker.config.id)
        if first is None:
            zone = live.manager.zones.zone(worker.config.id)
            first_text = CountMessage(
                camera=worker.config.id,
                ts=time.time(),
                status=worker.status().state.value,
                zone=zone.to_json() if zone is not None else None,
            ).json_text()
        else:
            first_text = _TEXTS.of(first)
        if await _send(websocket, first_text):
            await _pump(websocket, subscriber)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        live.hub.unsubscribe(subscriber)
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(), CLOSE_TIMEOUT_S)


async def _pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        update = await subscriber.get()
        if update is None or not await _send(websocket, _TEXTS.of(update)):
            return


async def _send(websocket: WebSocket, text: str) -> bool:
    try:
        await asyncio.wait_for(websocket.send_text(text), SEND_TIMEOUT_S)
    except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        return False
    return True


class _UpdateTexts:
    """The JSON text of recent updates, made once for all the subscribers of a camera (the
    outlines make a message ~10 KB of floats: 0.5 ms of json.dumps on the event loop, which
    50 clients would pay 50 times). An entry holds its update, so ids stay unique; the lock
    is for apps on other loops of the same process (tests)."""

    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._texts: dict[int, tuple[LiveUpdate, str]] = {}
        self._lock = threading.Lock()

    def of(self, update: LiveUpdate) -> str:
        with self._lock:
            hit = self._texts.get(id(update))
        if hit is not None and hit[0] is update:
            return hit[1]
        text = update.body.json_text()
        with self._lock:
            self._texts[id(update)] = (update, text)
            if len(self._texts) > self._keep:
                del self._texts[next(iter(self._texts))]  # the oldest
        return text


_TEXTS = _UpdateTexts()


async def _drain(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Read (and ignore) what the client sends, to notice at once when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
    subscriber.close()
