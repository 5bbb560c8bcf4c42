"""Live counts: WS /ws/count pushes every inference; GET /api/count_series reads the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from pigweight.api.camera_schemas import CountPoint, CountSeriesPublic
from pigweight.api.live_deps import LiveDep, find_worker, get_live
from pigweight.pipeline.hub import Subscriber

logger = logging.getLogger(__name__)
router = APIRouter(tags=["live"])

# A send that cannot complete in this time means the client stopped reading: drop it.
SEND_TIMEOUT_S = 10.0
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
    """`{camera, ts, count, stable_count, confidence, status, outlines}` on every inference."""
    live = get_live(websocket)
    await websocket.accept()
    try:
        worker = find_worker(live, camera_id)
    except HTTPException as exc:
        await websocket.close(code=4404, reason=str(exc.detail)[:120])
        return
    subscriber = live.hub.subscribe(worker.config.id)
    reader = asyncio.get_running_loop().create_task(_drain(websocket, subscriber))
    try:
        first = live.hub.latest(worker.config.id)
        if first is None:
            first_message: dict[str, Any] = {
                "camera": worker.config.id,
                "ts": time.time(),
                "count": None,
                "stable_count": None,
                "confidence": 0.0,
                "status": worker.status().state.value,
                "outlines": [],
            }
        else:
            first_message = first.message
        if await _send(websocket, first_message):
            await _pump(websocket, subscriber)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        live.hub.unsubscribe(subscriber)
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()


async def _pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        update = await subscriber.get()
        if update is None or not await _send(websocket, update.message):
            return


async def _send(websocket: WebSocket, message: dict[str, Any]) -> bool:
    try:
        await asyncio.wait_for(websocket.send_json(message), SEND_TIMEOUT_S)
    except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        return False
    return True


async def _drain(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Read (and ignore) what the client sends, to notice at once when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
    subscriber.close()
