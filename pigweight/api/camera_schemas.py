"""Response bodies of the live camera API, named by role."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from pigweight.media.error_kind import error_kind
from pigweight.pipeline.camera_worker import CameraStatus, CameraWorker
from pigweight.zones import ZoneBook, ZoneSource

_ZONE_DESCRIPTION = (
    "The platform zone counting uses: [[x, y], ...] in 0-1 of the picture (x to the right, "
    "y down); animals whose centre lies outside are not counted. null: the whole picture."
)
_SOURCE_DESCRIPTION = (
    "Where the zone comes from: 'page' (drawn in the browser, kept in DATA_DIR/zones.json), "
    "'file' (the cameras file), null (no zone)."
)


class CameraStatusPublic(BaseModel):
    """GET /api/cameras/{id}/status and one entry of /debug/infer_status."""

    camera: str
    state: str = Field(
        description="starting, connecting, streaming, reconnecting, stopped or error."
    )
    last_error: str | None = Field(description="The last error, passwords hidden.")
    last_error_kind: str | None = Field(
        None,
        description="What kind of trouble it is, for a page to say in its language: auth, "
        "refused, timeout, not_found, unreachable, closed, bad_data or other.",
    )
    reconnects: int
    uptime_s: float | None = Field(description="Seconds since frames started flowing.")
    width: int
    height: int
    frames_in: int
    frames_out: int
    fps_in: float = Field(description="Frames decoded per second (last 10 s).")
    fps_out: float = Field(description="Frames counted per second (last 10 s).")
    inference_ms_p50: float | None
    inference_ms_p95: float | None
    dropped: int = Field(description="Frames decoded but not counted (TARGET_FPS skips most).")
    queue_depth: int = Field(
        0, description="Updates waiting in the slowest client's queue (0 = all keep up)."
    )
    count: int | None
    stable_count: int | None
    segmenter: str | None = Field(
        None,
        description="What counted the last frame: 'classic', or 'pig:<model file>' (the "
        "farm's own model after a switch: its id is the file's name).",
    )

    @classmethod
    def of(cls, camera: str, status: CameraStatus, queue_depth: int = 0) -> CameraStatusPublic:
        return cls(
            camera=camera,
            state=status.state.value,
            last_error=status.last_error,
            last_error_kind=error_kind(status.last_error),
            reconnects=status.reconnects,
            uptime_s=status.uptime_s,
            width=status.width,
            height=status.height,
            frames_in=status.frames_in,
            frames_out=status.frames_out,
            fps_in=status.fps_in,
            fps_out=status.fps_out,
            inference_ms_p50=status.inference_ms_p50,
            inference_ms_p95=status.inference_ms_p95,
            dropped=status.dropped,
            queue_depth=queue_depth,
            count=status.count,
            stable_count=status.stable_count,
            segmenter=status.segmenter,
        )


class CameraPublic(BaseModel):
    """One camera of GET /api/cameras; the URL never carries a password."""

    id: str
    name: str
    url: str = Field(description="The camera URL with any password replaced by ***.")
    kind: str = Field(description="rtsp, file or demo.")
    enabled: bool
    has_scale: bool = Field(False, description="A scale indicator is connected to its platform.")
    target_fps: float
    frame_skip: int
    zone: list[list[float]] | None = Field(None, description=_ZONE_DESCRIPTION)
    zone_source: ZoneSource | None = Field(None, description=_SOURCE_DESCRIPTION)
    status: CameraStatusPublic

    @classmethod
    def of(
        cls,
        worker: CameraWorker,
        queue_depth: int = 0,
        has_scale: bool = False,
        zones: ZoneBook | None = None,
    ) -> CameraPublic:
        config = worker.config
        zone = zones.zone(config.id) if zones is not None else None
        return cls(
            id=config.id,
            name=config.display_name,
            url=config.public_url if config.kind == "rtsp" else _file_label(config.url),
            kind=config.kind,
            enabled=config.enabled,
            has_scale=has_scale,
            target_fps=worker.target_fps,
            frame_skip=worker.frame_skip,
            zone=zone.to_json() if zone is not None else None,
            zone_source=zones.source(config.id) if zones is not None else None,
            status=CameraStatusPublic.of(config.id, worker.status(), queue_depth),
        )


def _file_label(path: str) -> str:
    # A replayed file is shown by name only: server paths are nobody's business.
    return path.replace("\\", "/").rsplit("/", 1)[-1]


class ZoneUpdate(BaseModel):
    """PUT /api/cameras/{id}/zone: the page's zone, or null to go back to the file's."""

    # Checked by zones.zone_from_value, so a bad polygon gets one sentence saying what to fix.
    zone: Any = Field(
        description="[[x, y], ...] in 0-1 of the picture, 3 to 64 points; null removes the "
        "zone drawn on the page (the cameras file's zone, if any, applies again).",
        examples=[[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]],
    )


class ZonePublic(BaseModel):
    """A camera's effective zone after a change."""

    zone: list[list[float]] | None = Field(description=_ZONE_DESCRIPTION)
    zone_source: ZoneSource | None = Field(description=_SOURCE_DESCRIPTION)

    @classmethod
    def of(cls, zones: ZoneBook, camera_id: str) -> ZonePublic:
        zone = zones.zone(camera_id)
        return cls(
            zone=zone.to_json() if zone is not None else None,
            zone_source=zones.source(camera_id),
        )


class CountPoint(BaseModel):
    ts: float = Field(description="Seconds since the epoch.")
    count: int = Field(description="Animals counted on that frame.")
    stable_count: int | None = Field(description="Windowed count at that moment.")


class CountSeriesPublic(BaseModel):
    """GET /api/count_series."""

    camera: str
    status: str
    points: list[CountPoint]
