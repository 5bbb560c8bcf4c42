"""LiveServices: the cameras, hub, store and diagnostics of one app, started and stopped together.

`create_app()` builds it; the lifespan calls `startup()` and `shutdown()`. Every thread it
starts (camera workers, their sources, the store writer) is joined in `shutdown()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from sqlalchemy import Engine

from pigweight.aio import cancel_and_wait
from pigweight.cameras import CameraConfig, demo_video_path
from pigweight.errors import ModelLoadError
from pigweight.perf import LoopLagMonitor, PerfLog, perf_logger, stage
from pigweight.pipeline.auto_weigher import AutoWeigher
from pigweight.pipeline.camera_worker import SourceFactory
from pigweight.pipeline.hub import Hub
from pigweight.pipeline.manager import CameraManager, HolderFactory
from pigweight.settings import Settings
from pigweight.store.writer import CountStore
from pigweight.synthetic import load_truth, truth_path
from pigweight.vision.lazy_segmenter import LazySegmenter
from pigweight.weighing.events import EventSettings
from pigweight.weighing.records import RecordBook
from pigweight.weighing.scale import ScaleReader
from pigweight.weighing.scale_sim import FollowVideo, ScaleSimulator

logger = logging.getLogger(__name__)

_WARM_UP_STAGE = "warm_up"
# CSV retention and reconciliation run at start and then this often.
HOUSEKEEPING_EVERY_S = 3600.0
# CSV lines that could not be written (a full disk) are retried this often.
CSV_RETRY_EVERY_S = 30.0


@dataclass
class LiveServices:
    """Everything the live API needs, owned by one app."""

    settings: Settings
    manager: CameraManager
    hub: Hub
    store: CountStore
    perf: PerfLog
    records: RecordBook
    lag: LoopLagMonitor = field(default_factory=LoopLagMonitor)
    timings_ms: dict[str, float] = field(default_factory=dict)
    ready: bool = False
    scales: dict[str, ScaleReader] = field(default_factory=dict)  # camera id -> its scale
    weighers: dict[str, AutoWeigher] = field(default_factory=dict)  # camera id -> its events
    demo_scale: ScaleSimulator | None = None  # the demo platform's simulated indicator
    # Keeps a weighing's frame for labelling when it is worth it (Teaching.after_weighing,
    # set by create_app; blocking, never raises): (camera, typed count, camera's count,
    # confidence, confirm asked).
    keep_frame: Callable[[str, int | None, int | None, float | None, bool], object] | None = None
    _stats_task: asyncio.Task[None] | None = None
    _housekeeping_task: asyncio.Task[None] | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        cameras: list[CameraConfig],
        default_holder: LazySegmenter,
        holder_factory: HolderFactory,
        source_factory: SourceFactory,
    ) -> LiveServices:
        hub = Hub()
        store = CountStore(settings.cameras.count_retention_days)
        manager = CameraManager(
            settings, cameras, hub, store, default_holder, holder_factory, source_factory
        )
        scales = {c.id: ScaleReader(c.scale, scale_id=c.id) for c in cameras if c.scale}
        return cls(
            settings,
            manager,
            hub,
            store,
            PerfLog(settings.server.log_dir),
            RecordBook(settings.weighing, settings.server.data_dir),
            scales=scales,
        )

    def open_perf_log(self, settings_ms: float) -> None:
        """Start perf.log (the start-up stages that follow are timed in it)."""
        self.perf.open()
        perf_logger.info("stage=settings duration_ms=%.1f", settings_ms)
        self.timings_ms["settings"] = round(settings_ms, 1)

    async def startup(self, engine: Engine) -> None:
        """With the app's database: warm the model (PRELOAD_MODEL), start the cameras
        (AUTO_START_CAM), the scales and the automatic weighers."""
        self.hub.bind(asyncio.get_running_loop())
        self.store.start(engine)
        with stage("records", self.timings_ms):
            # CSV files rebuilt from the database where they differ (a crash, a lost file).
            await anyio.to_thread.run_sync(self.records.start, engine)
        if self.settings.vision.preload_model:
            await self.preload()
        if self.settings.cameras.auto_start_cam:
            with stage("cameras_start", self.timings_ms):
                self.manager.start_enabled()
        self._start_demo_scale()
        for camera, scale in self.scales.items():
            scale.start()  # its own thread: connects, reconnects, never blocks the loop
            if self.settings.weighing.auto_weigh:
                weigher = AutoWeigher(camera, self.hub, scale, self.records, self._event_settings())
                weigher.keep_frame = self.keep_frame
                weigher.start()
                self.weighers[camera] = weigher
        self.lag.start()
        self._stats_task = asyncio.get_running_loop().create_task(self._log_stats())
        self._housekeeping_task = asyncio.get_running_loop().create_task(self._housekeeping())
        self.ready = True

    def _start_demo_scale(self) -> None:
        """The demo platform's scale: a simulator weighing the demo clip's animals, in step
        with the frame on screen, served on 127.0.0.1 and read like a real indicator."""
        cameras = list(self.manager.cameras)
        if not self.settings.weighing.demo_scale or self.scales or cameras != ["demo"]:
            return
        worker = self.manager.worker("demo")
        clip = demo_video_path(self.settings.cameras, self.settings.server.data_dir)
        truth: dict[str, list[int]] = {}

        def counts() -> list[int] | None:
            if "counts" not in truth:
                path = truth_path(clip)
                if not path.is_file():
                    return None  # still rendering
                truth["counts"] = list(load_truth(clip).counts)
            return truth["counts"]

        def frame_index() -> int | None:
            frame = worker.latest_frame()
            return None if frame is None else frame.index

        follow = FollowVideo(counts, frame_index, fps=self.settings.cameras.fps)
        self.demo_scale = ScaleSimulator("ascii", follow, rate_hz=10)
        port = self.demo_scale.serve_tcp("127.0.0.1", 0)
        self.scales["demo"] = ScaleReader(f"tcp://127.0.0.1:{port}?protocol=ascii", "demo")
        logger.info("demo scale: simulated indicator on 127.0.0.1:%d", port)

    def _event_settings(self) -> EventSettings:
        return EventSettings(
            settle_s=self.settings.weighing.auto_weigh_settle_s,
            min_confidence=self.settings.weighing.auto_weigh_min_confidence,
        )

    async def preload(self) -> dict[str, float]:
        """Load every segmenter the cameras need and run one warm-up inference on each."""
        for holder in self.manager.holders():
            if holder.ready:
                continue
            try:
                with stage("model_load", self.timings_ms):
                    await anyio.to_thread.run_sync(holder.get)
                with stage(_WARM_UP_STAGE, self.timings_ms):
                    await anyio.to_thread.run_sync(holder.warm_up)
            except ModelLoadError as exc:
                # Keep serving: /healthz and the camera status tell the operator what to fix.
                logger.error("segmenter not loaded at startup: %s", exc)
        return dict(self.timings_ms)

    async def shutdown(self) -> None:
        """Stop every camera and the store, joining their threads."""
        self.ready = False
        for task in (self._stats_task, self._housekeeping_task):
            await cancel_and_wait(task)
        await self.lag.stop()
        for weigher in self.weighers.values():
            await weigher.stop()
        self.hub.close_all()
        for scale in self.scales.values():
            await anyio.to_thread.run_sync(scale.stop)
        if self.demo_scale is not None:
            await anyio.to_thread.run_sync(self.demo_scale.stop)
        await anyio.to_thread.run_sync(self.manager.stop_all)
        await anyio.to_thread.run_sync(self.store.stop)
        self.perf.close()

    async def _housekeeping(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(min(CSV_RETRY_EVERY_S, HOUSEKEEPING_EVERY_S))
            try:
                if time.monotonic() - last >= HOUSEKEEPING_EVERY_S:
                    last = time.monotonic()
                    await anyio.to_thread.run_sync(self.records.housekeeping)
                elif self.records.dirty_days:
                    await anyio.to_thread.run_sync(self.records.retry_pending)
            except Exception:
                logger.exception("records housekeeping failed; trying again later")

    async def _log_stats(self) -> None:
        while True:
            await asyncio.sleep(self.settings.server.perf_stats_interval_s)
            self.log_stats()

    def log_stats(self) -> None:
        """One perf.log line per running camera, and the event loop's lag."""
        for camera_id, s in self.manager.statuses().items():
            if s.state.value == "stopped":
                continue
            perf_logger.info(
                "stats camera=%s state=%s fps_in=%.2f fps_out=%.2f infer_p50_ms=%s "
                "infer_p95_ms=%s dropped=%d reconnects=%d queue=%d uptime_s=%s",
                camera_id,
                s.state.value,
                s.fps_in,
                s.fps_out,
                s.inference_ms_p50,
                s.inference_ms_p95,
                s.dropped,
                s.reconnects,
                self.hub.max_queue_depth(camera_id),
                s.uptime_s,
            )
        lag = self.lag.percentiles()
        perf_logger.info("stats loop_lag_p50_ms=%s loop_lag_p99_ms=%s", lag["p50"], lag["p99"])
