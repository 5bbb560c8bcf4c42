"""The groups of settings, one per concern; `settings.Settings` holds one of each.

Field names are the environment names (case-insensitive, no prefix, unique across the
groups): `Settings` reads them flat and routes each into its group, so a farm's `.env`
(`MODEL_PATH=...`, `FPS=...`) is the same as before the settings were grouped.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

SegmenterName = Literal["pig", "classic", "yolo_onnx"]
_HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})?\.?")


def _comma_separated(value: Any) -> Any:
    """Comma-separated in the environment; a list when given in code."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [p.strip() for p in str(value).split(",") if p.strip()]


def _blank_is_none(value: Any) -> Any:
    """An empty value means "not set"."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


# NoDecode: the environment's value is split by the validator, not parsed as JSON.
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)]
CommaPaths = Annotated[list[Path], NoDecode, BeforeValidator(_comma_separated)]


class _Group(BaseModel):
    """A group of settings: unknown keys are errors, defaults are validated too."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class ServerSettings(_Group):
    """The web server: where it listens, where it keeps its files and logs."""

    host: str = Field("127.0.0.1", description="Address the web server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the web server.")
    data_dir: Path = Field(Path("data"), description="Where the database and media live.")
    database_url: SecretStr | None = Field(
        None,
        description="Where the records live, e.g. "
        "'postgresql+psycopg://pigweight:PASSWORD@db.farm.lan/pigweight'; never printed. "
        "Empty: the SQLite file DATA_DIR/pigweight.sqlite3.",
    )
    log_dir: Path = Field(Path("logs"), description="Folder of perf.log and other logs.")
    access_log: bool = Field(
        False,
        description="Log every HTTP request (uvicorn's access log). Off by default: a player "
        "asks for counts and segments many times a second.",
    )
    ui_language: Literal["ru", "en"] = Field("ru", description="Default language of the web UI.")
    perf_stats_interval_s: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="Seconds between the per-camera statistics lines written to logs/perf.log.",
    )

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(text, str) or not text.strip():
            return None
        scheme, found, _rest = text.strip().partition("://")
        backend = scheme.lower().partition("+")[0]
        if not found or backend not in ("sqlite", "postgresql", "postgres"):
            # Only the scheme is quoted: the rest may hold a password.
            shown = repr(scheme[:40]) if found else "without a scheme"
            raise ValueError(
                f"unknown database URL {shown}: use postgresql+psycopg://USER:PASSWORD@HOST/DB "
                "or sqlite:////path/to/file.sqlite3 (empty: DATA_DIR/pigweight.sqlite3)"
            )
        return text.strip()


class LimitSettings(_Group):
    """The largest inputs the API accepts (photos, JSON bodies)."""

    max_image_megapixels: float = Field(
        60.0, gt=0, le=500, description="Largest image accepted, in megapixels."
    )
    max_upload_mb: float = Field(
        50.0, gt=0, le=100_000, description="Largest photo upload accepted, in megabytes."
    )
    max_json_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest body of a JSON request, in bytes; a larger one gets 413 before it "
        "is read (photo and video uploads have their own limits).",
    )


class VisionSettings(_Group):
    """Which segmenter counts the animals, and how (model, thresholds, runtime)."""

    segmenter: SegmenterName = Field(
        "pig",
        description="Which segmenter counts the animals: 'pig' (the trained pig detector "
        "shipped in the package; 'classic' when its file is missing), 'classic' (hand-made "
        "colour and shape rules, no weights) or 'yolo_onnx' (a YOLOv8/YOLO11 model exported "
        "to ONNX, see MODEL_PATH).",
    )
    model_path: Path | None = Field(
        None,
        description="ONNX file of the model: a YOLOv8/YOLO11 detect or segment export "
        "(SEGMENTER=yolo_onnx), or a pig model fine-tuned by `pigweight train` "
        "(SEGMENTER=pig). Empty with SEGMENTER=pig: the shipped model.",
    )
    conf_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Minimum confidence of a detection (0-1). Empty: the model's own "
        "(picked on validation images when `pigweight train` made it; 0.25 otherwise).",
    )
    iou_threshold: float = Field(
        0.5, gt=0.0, le=1.0, description="IoU above which overlapping boxes are merged by NMS."
    )
    target_class_ids: Annotated[list[int] | None, NoDecode] = Field(
        None,
        description="Class ids of the model that count as pigs, e.g. '0' or '0,2'. "
        "Empty: the class named 'pig' (or every class of a one-class model).",
    )
    imgsz: int | None = Field(
        None,
        ge=32,
        le=4096,
        description="Inference size for a dynamic-shape ONNX model (multiple of 32). "
        "Empty: the model's own imgsz.",
    )
    onnx_threads: int = Field(
        0, ge=0, le=256, description="onnxruntime intra-op threads; 0 lets onnxruntime decide."
    )
    onnx_use_gpu: bool = Field(
        True, description="Use a GPU execution provider (CUDA, TensorRT...) when one is present."
    )
    max_detections: int = Field(300, ge=1, le=10000, description="Most detections per frame.")
    classic_work_px: int = Field(
        1280,
        ge=320,
        le=4096,
        description="Longest side, in pixels, the classic segmenter works at (the frame is "
        "downscaled to it; masks are returned at full size).",
    )
    preload_model: bool = Field(
        True, description="Load the segmenter and run a warm-up inference before serving."
    )

    @field_validator("target_class_ids", mode="before")
    @classmethod
    def _parse_class_ids(cls, value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        text = str(value).strip().strip("[]")
        if not text:
            return None
        parts = [p for p in re.split(r"[,\s;]+", text) if p]
        try:
            return [int(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"expected comma-separated integers like '0' or '0,2', got {value!r}"
            ) from None

    @field_validator("model_path", "imgsz", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @field_validator("imgsz")
    @classmethod
    def _imgsz_multiple_of_32(cls, value: int | None) -> int | None:
        if value is not None and value % 32:
            raise ValueError(f"must be a multiple of 32, got {value}")
        return value

    @model_validator(mode="after")
    def _model_needed(self) -> VisionSettings:
        if self.segmenter == "yolo_onnx" and self.model_path is None:
            raise ValueError("SEGMENTER=yolo_onnx needs MODEL_PATH (an .onnx file)")
        return self


class CameraSettings(_Group):
    """The live cameras: which ones, how often they are counted, the demo camera."""

    cam_url: SecretStr | None = Field(
        None, description="URL of the camera (rtsp://user:pass@host/...); never printed."
    )
    fps: float = Field(25.0, gt=0, le=240, description="Expected frame rate of the camera.")
    target_fps: float = Field(
        5.0, gt=0, le=240, description="How many frames per second are counted."
    )
    frame_skip: int = Field(0, ge=0, le=1000, description="Frames skipped between inferences.")
    auto_start_cam: bool = Field(True, description="Start enabled cameras when the server starts.")
    count_window: int = Field(
        15, ge=1, le=10000, description="Samples in the sliding window of the stable count."
    )
    cameras_file: Path | None = Field(
        None,
        description="YAML file listing the cameras (id, name, url, password_env, overrides); "
        "see docs/settings.md. Empty: only CAM_URL, or the demo camera when that is empty too.",
    )
    demo_video_seconds: float = Field(
        30.0,
        ge=0,
        le=600,
        description="Length of the synthetic clip the demo camera loops (one group of piglets "
        "per 30 s; rendered once into DATA_DIR); 0 turns the demo camera off.",
    )
    demo_video_width: int = Field(
        1280, ge=160, le=3840, description="Width in pixels of the demo clip (16:9)."
    )
    count_retention_days: float = Field(
        30.0, gt=0, le=3650, description="Days the live count samples are kept in the database."
    )
    camera_allow_hosts: CommaList = Field(
        default_factory=list,
        description="Camera hosts allowed although they are this computer (loopback), "
        "link-local or a cloud metadata address, comma-separated: addresses, networks or names, "
        "e.g. '127.0.0.1' for an RTSP relay on this PC or '169.254.0.0/16' for cameras that "
        "fell back to link-local addresses (a metadata address only when listed itself). "
        "Empty: camera URLs with such hosts are refused.",
    )

    @field_validator("cam_url", "cameras_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @field_validator("camera_allow_hosts")
    @classmethod
    def _hosts_or_networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                if not _HOST_NAME.fullmatch(entry):
                    raise ValueError(
                        f"{entry!r} is neither an address, a network like 127.0.0.0/8, "
                        "nor a host name"
                    ) from None
        return [e.lower().rstrip(".") for e in entries]


class WebRTCSettings(_Group):
    """The live view over WebRTC."""

    webrtc_enabled: bool = Field(
        True, description="Offer the live view over WebRTC (the page falls back to MJPEG)."
    )
    webrtc_max_peers: int = Field(
        3,
        ge=1,
        le=100,
        description="Most browsers one camera streams to over WebRTC (each 720p viewer costs "
        "the server about 0.3 of a core); a page past the limit shows the MJPEG stream.",
    )
    webrtc_ice_servers: CommaList = Field(
        default_factory=list,
        description="STUN/TURN servers for farms behind NAT, comma-separated, e.g. "
        "'stun:stun.example.org:3478,turn:turn.example.org:3478'. Empty: the LAN only.",
    )
    webrtc_turn_username: str = Field("", description="User name for the TURN servers.")
    webrtc_turn_password: SecretStr | None = Field(
        None, description="Password for the TURN servers; never printed."
    )
    webrtc_hosts: CommaList = Field(
        default_factory=list,
        description="Local IP addresses WebRTC may use (ICE host candidates), comma-separated. "
        "Empty: every interface but loopback. 127.0.0.1 for a browser on the same PC only.",
    )


class WeighingSettings(_Group):
    """Weighings: the scales, automatic weighing, plausibility limits, daily CSV files."""

    records_dir: Path = Field(
        Path("records"), description="Folder of the daily CSV exports weight_avg_YYYYMMDD.csv."
    )
    farm_timezone: str | None = Field(
        None,
        description="IANA time zone of the farm, e.g. 'Europe/Moscow': the local time of each "
        "record and the date of its daily CSV. Empty: this computer's time zone.",
    )
    max_total_weight_kg: float = Field(
        5000.0, gt=0, le=100000, description="Largest total weight a weighing may have (kg)."
    )
    min_avg_weight_kg: float = Field(
        0.5,
        gt=0,
        description="Smallest plausible average weight per head (kg); below it the count or the "
        "total is wrong and the weighing is refused.",
    )
    max_avg_weight_kg: float = Field(
        200.0, gt=0, description="Largest plausible average weight per head (kg)."
    )
    records_retention_days: int = Field(
        90,
        ge=1,
        le=36500,
        description="Days the daily CSV files are kept in RECORDS_DIR (removed at start and "
        "daily); the database keeps every record.",
    )
    scale_url: str | None = Field(
        None,
        description="The scale indicator of the first camera's platform, e.g. "
        "tcp://192.168.1.50:4001?protocol=toledo (docs/scales.md); other cameras name theirs "
        "in the cameras file (scale: ...). Empty: weights are typed.",
    )
    demo_scale: bool = Field(
        True,
        description="With only the demo camera and no SCALE_URL, a simulated scale (ASCII "
        "protocol, on 127.0.0.1) weighs the demo's animals, so automatic weighings show "
        "with no hardware.",
    )
    auto_weigh: bool = Field(
        True,
        description="Record a weighing by itself when a platform's scale and camera count have "
        "both been steady for AUTO_WEIGH_SETTLE_S (platforms with a scale only).",
    )
    auto_weigh_settle_s: float = Field(
        3.0, gt=0, le=120, description="Seconds scale and count must stay steady to record."
    )
    auto_weigh_min_confidence: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Count confidence needed to record by itself; below it the operator is "
        "asked to confirm.",
    )

    @field_validator("farm_timezone", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @field_validator("farm_timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {value!r}; use an IANA name like 'Europe/Moscow'"
                ) from None
        return value

    @model_validator(mode="after")
    def _average_band(self) -> WeighingSettings:
        if self.min_avg_weight_kg >= self.max_avg_weight_kg:
            raise ValueError("MIN_AVG_WEIGHT_KG must be below MAX_AVG_WEIGHT_KG")
        return self

    def zone(self) -> tzinfo:
        """The farm's time zone (FARM_TIMEZONE, else this computer's)."""
        if self.farm_timezone:
            return ZoneInfo(self.farm_timezone)
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC


class ArchiveSettings(_Group):
    """The video archive: NVR folders, uploads, the indexer, the HLS cache."""

    media_roots: CommaPaths = Field(
        default_factory=list,
        description="Folders whose videos may be registered by path (the NVR export folders), "
        "or replayed as a camera added over HTTP, comma-separated. Empty: only uploads.",
    )
    index_interval_s: float = Field(
        1.0,
        gt=0,
        le=3600,
        description="Seconds between the samples the video indexer counts. At the recorder's "
        "keyframe interval (often 2 s) or more only keyframes are decoded: about twice as fast.",
    )
    index_max_side_px: int = Field(
        1280,
        ge=320,
        le=7680,
        description="Longest side, in pixels, of the frames the video indexer counts (larger "
        "frames are scaled down while decoded). Smaller indexes faster and counts less "
        "accurately: see docs/performance.md.",
    )
    index_workers: Literal["", "queue"] = Field(
        "",
        description="Empty: the server indexes archive files in its own process (the "
        "default). 'queue': it publishes one job per file to the JetStream work queue "
        "PW_INDEX_JOBS on NATS_URL, and `pigweight worker` processes on any machine index them "
        "and send the samples back (docs/operations.md, 'Index workers').",
    )
    index_shared_root: Path | None = Field(
        None,
        description="With INDEX_WORKERS=queue: the folder the server and its workers both see "
        "(a shared mount, at its own place on each machine); a file under it is sent to the "
        "workers by its path inside it, others by their full path.",
    )
    index_source_url: str | None = Field(
        None,
        description="With INDEX_WORKERS=queue: this server's address as the workers reach it "
        "(e.g. http://nvr.farm.lan:8000). Each job then carries a link to its file, which a "
        "worker without the file under its INDEX_SHARED_ROOT reads over HTTP Range with the "
        "job's own token. Empty: workers need the file on their disks.",
    )
    max_video_upload_gb: float = Field(
        50.0, gt=0, le=10000, description="Largest video file an upload may have (GB)."
    )
    hls_cache_mb: float = Field(
        2048.0,
        ge=0,
        le=10_000_000,
        description="Disk space for HLS segments remuxed on demand (MB); the least recently "
        "used go first.",
    )

    @field_validator("index_source_url", mode="before")
    @classmethod
    def _check_source_url(cls, value: Any) -> Any:
        value = _blank_is_none(value)
        if value is None:
            return None
        text = str(value).strip().rstrip("/")
        scheme, found, rest = text.partition("://")
        if not found or scheme not in ("http", "https") or not rest.split("/")[0]:
            raise ValueError(
                "use http://HOST:PORT or https://HOST (this server, as workers see it)"
            )
        if "@" in rest.split("/")[0] or "?" in rest or "#" in rest:
            raise ValueError("give the address alone: no user, password, query or fragment")
        return text


class TeachingSettings(_Group):
    """Teaching the counter: the labelling queue and fine-tuning."""

    label_queue_mb: float = Field(
        500.0,
        ge=0,
        le=1_000_000,
        description="Disk space for frames waiting to be labelled (MB). Over it, the oldest "
        "unlabelled frames kept at random go first, then the oldest other unlabelled ones; "
        "labelled frames are never dropped. 0: no frame is collected by itself.",
    )
    label_sample_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of confident weighings whose frame is kept for labelling anyway "
        "(a random sample, so the model is also checked where it is sure).",
    )
    label_low_confidence: float = Field(
        0.7,
        ge=0,
        le=1,
        description="A weighing counted with a confidence below this keeps its frame for "
        "labelling.",
    )
    train_threads: int = Field(
        1,
        ge=1,
        le=256,
        description="CPU threads a fine-tune started from the page may use (it also runs at a "
        "lower priority, so the live counting keeps its frame rate).",
    )
