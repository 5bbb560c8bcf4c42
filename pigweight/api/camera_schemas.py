"""Response bodies of the live camera API, named by role."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pigweight.pipeline.camera_worker import CameraStatus, CameraWorker


class CameraStatusPublic(BaseModel):
    """GET /api/cameras/{id}/status and one entry of /debug/infer_status."""

    camera: str
    state: str = Field(
        description="starting, connecting, streaming, reconnecting, stopped or error."
    )
    last_error: str | None = Field(description="The last error, passwords hidden.")
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

    @classmethod
    def of(cls, camera: str, status: CameraStatus, queue_depth: int = 0) -> CameraStatusPublic:
        return cls(
            camera=camera,
            state=status.state.value,
            last_error=status.last_error,
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
    status: CameraStatusPublic

    @classmethod
    def of(
        cls, worker: CameraWorker, queue_depth: int = 0, has_scale: bool = False
    ) -> CameraPublic:
        config = worker.config
        return cls(
            id=config.id,
            name=config.display_name,
            url=config.public_url if config.kind == "rtsp" else _file_label(config.url),
            kind=config.kind,
            enabled=config.enabled,
            has_scale=has_scale,
            target_fps=worker.target_fps,
            frame_skip=worker.frame_skip,
            status=CameraStatusPublic.of(config.id, worker.status(), queue_depth),
        )


def _file_label(path: str) -> str:
    # A replayed file is shown by name only: server paths are nobody's business.
    return path.replace("\\", "/").rsplit("/", 1)[-1]


class CountPoint(BaseModel):
    ts: float = Field(description="Seconds since the epoch.")
    count: int = Field(description="Animals counted on that frame.")
    stable_count: int | None = Field(description="Windowed count at that moment.")


class CountSeriesPublic(BaseModel):
    """GET /api/count_series."""

    camera: str
    status: str
    points: list[CountPoint]
