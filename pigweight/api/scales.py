"""The scale of a camera's platform: its reading and the state of its line."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from pigweight.api.live_deps import LiveDep, find_worker
from pigweight.api.refusals import NotFound
from pigweight.media.error_kind import error_kind

router = APIRouter(tags=["live"])


class ScaleReadingPublic(BaseModel):
    weight_kg: float | None = Field(description="None: overload, underload or an error reply.")
    stable: bool
    status: str = Field(description="ok, overload, underload, busy or error.")
    net: bool
    age_s: float = Field(description="Seconds since the indicator sent it.")


class PlatformAskPublic(BaseModel):
    """A weighing to confirm, or a request to re-zero the scale."""

    model_config = ConfigDict(from_attributes=True)
    kind: str = Field(description="confirm or rezero.")
    count: int | None
    total_kg: float | None
    reason: str = Field(description="Why, in English, for a script's log.")
    code: str = Field(description="Why, as a stable id the page says in its language.")
    params: dict[str, Any] = Field(description="The numbers the page's sentence names.")


class RecordedLoadPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    count: int
    total_kg: float
    ts: float


class AutoWeighPublic(BaseModel):
    """The platform's automatic weighing (AUTO_WEIGH)."""

    model_config = ConfigDict(from_attributes=True)
    state: str = Field(description="idle, loading, settled or unloading.")
    pending: PlatformAskPublic | None = Field(description="A weighing to confirm.")
    warning: PlatformAskPublic | None = Field(description="Re-zero the scale.")
    last_record: RecordedLoadPublic | None = Field(
        description="The last weighing it recorded by itself."
    )


class ScalePublic(BaseModel):
    """GET /api/scales/{camera}: what the indicator says now, and how its line is."""

    camera: str
    state: str = Field(
        description="starting, connecting, streaming, no_data, reconnecting, stopped"
    )
    where: str = Field(description="The port or address, e.g. 192.168.1.50:4001.")
    protocol: str
    last_error: str | None
    last_error_kind: str | None = Field(
        None, description="Its kind for a page to say (as a camera's: refused, timeout, ...)."
    )
    reconnects: int
    bad_frames: int
    reading: ScaleReadingPublic | None = Field(description="None until the first reading.")
    events: AutoWeighPublic | None = Field(
        None, description="The platform's automatic weighing; None when AUTO_WEIGH is off."
    )


@router.get("/api/scales/{camera_id}", response_model=ScalePublic)
async def scale(camera_id: str, live: LiveDep) -> ScalePublic:
    """The reading of the camera's scale; 404 when the camera has none configured."""
    worker = find_worker(live, camera_id)
    reader = live.scales.get(worker.config.id)
    if reader is None:
        raise NotFound(
            f"camera {worker.config.id} has no scale: set SCALE_URL, or 'scale:' for it in "
            "the cameras file (docs/scales.md)",
        )
    status = reader.status()
    latest = reader.latest()
    reading = None
    if latest is not None:
        reading = ScaleReadingPublic(
            weight_kg=latest.weight_kg,
            stable=latest.stable,
            status=str(latest.status),
            net=latest.net,
            age_s=round(max(0.0, time.time() - latest.ts), 2),
        )
    weigher = live.weighers.get(worker.config.id)
    return ScalePublic(
        events=None
        if weigher is None
        else AutoWeighPublic.model_validate(weigher.state(), from_attributes=True),
        camera=worker.config.id,
        state=str(status.state.value),
        where=status.where,
        protocol=status.protocol,
        last_error=status.last_error,
        last_error_kind=error_kind(status.last_error),
        reconnects=status.reconnects,
        bad_frames=status.bad_frames,
        reading=reading,
    )


@router.post("/api/scales/{camera_id}/dismiss", status_code=204)
async def dismiss(camera_id: str, live: LiveDep) -> None:
    """The operator answered the platform's confirmation (saved the weighing, or not)."""
    worker = find_worker(live, camera_id)
    weigher = live.weighers.get(worker.config.id)
    if weigher is None:
        raise NotFound(f"camera {worker.config.id} weighs by hand only (no scale)")
    weigher.dismiss()
