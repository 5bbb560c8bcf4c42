"""Diagnostics the farm's scripts already call: /debug/preload_model, /debug/infer_status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pigweight.api.camera_schemas import CameraStatusPublic
from pigweight.api.live_deps import LiveDep

router = APIRouter(tags=["diagnostics"])


@router.get("/debug/preload_model")
async def preload_model(live: LiveDep) -> dict[str, Any]:
    """Load the segmenters the cameras need (if not yet) and return the start-up timings."""
    timings = await live.preload()
    holders = live.manager.holders()
    return {
        "ready": all(h.ready for h in holders),
        "segmenters": sorted({h.name for h in holders}),
        "timings_ms": timings,
    }


@router.get("/debug/infer_status")
async def infer_status(live: LiveDep) -> dict[str, Any]:
    """Per camera: fps in/out, inference ms p50/p95, queue depth, dropped, reconnects,
    last error, uptime; plus the event loop's lag and the store's backlog."""
    cameras = {
        cid: CameraStatusPublic.of(cid, status, live.hub.max_queue_depth(cid)).model_dump()
        for cid, status in live.manager.statuses().items()
    }
    for cid, entry in cameras.items():
        entry["subscribers"] = live.hub.subscriber_count(cid)
    return {
        "ready": live.ready,
        "cameras": cameras,
        "loop_lag_ms": live.lag.percentiles(),
        "store": {"queue_depth": live.store.queue_depth, "dropped": live.store.dropped},
        "clients_disconnected": live.hub.disconnected,
    }
