"""CameraWorker: one live camera, from its frame source to counts in the hub and the store.

The source decodes on its own thread into a latest-frame slot; this worker's thread takes
the newest frame at TARGET_FPS (never older ones), segments it and updates the windowed
count; a publisher thread draws and encodes the overlay once and publishes it, so drawing
never delays the next inference (a one-item queue: a newer result replaces an unsent one).
Nothing here runs on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pigweight.background import BackgroundThread
from pigweight.cameras import CameraConfig
from pigweight.counting.counter import WindowCounter
from pigweight.domain import CountSample, Detections, Frame
from pigweight.errors import PigWeightError
from pigweight.media.error_kind import error_kind
from pigweight.media.images import encode_jpeg
from pigweight.media.source import FrameSource, SourceState
from pigweight.pipeline.demo import ensure_demo_video
from pigweight.pipeline.hub import CountMessage, Hub, LiveUpdate
from pigweight.pipeline.stats import LatencyWindow, RateMeter
from pigweight.settings import CameraSettings, VisionSettings
from pigweight.store.counts import CountRow
from pigweight.store.writer import CountStore
from pigweight.vision.overlay import draw_overlay, mask_outlines
from pigweight.vision.segmenter import Segmenter
from pigweight.vision.zone import Zone, split

logger = logging.getLogger(__name__)
STOP_WAIT_S = 10.0  # the loop stops its source (5 s) and its publisher first
perf_logger = logging.getLogger("pigweight.perf")

SourceFactory = Callable[[CameraConfig], FrameSource]
SegmenterGetter = Callable[[], Segmenter]
ZoneGetter = Callable[[], Zone | None]

_FRAME_WAIT_S = 0.5  # how long one wait for a frame lasts: bounds how fast stop() is seen


@dataclass(frozen=True, slots=True)
class _Result:
    """One inference waiting for the publisher: what to draw and what to send."""

    frame: Frame
    detections: Detections  # every animal found, on the platform or not
    inside: npt.NDArray[np.bool_]  # (N,) on the platform zone: counted
    zone: Zone | None
    message: CountMessage


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """What the operator and /debug/infer_status see of one camera."""

    state: SourceState
    last_error: str | None
    reconnects: int
    uptime_s: float | None  # seconds since frames started flowing
    width: int
    height: int
    frames_in: int  # decoded since start
    frames_out: int  # counted since start
    fps_in: float
    fps_out: float
    inference_ms_p50: float | None
    inference_ms_p95: float | None
    dropped: int  # decoded but never counted (TARGET_FPS/FRAME_SKIP skip most on purpose)
    count: int | None  # last raw count
    stable_count: int | None
    segmenter: str | None = None  # what counted the last frame: 'pig:<model file>'


class CameraWorker:
    """Owns the camera's source and inference thread; start() and stop() may repeat."""

    def __init__(
        self,
        config: CameraConfig,
        cameras: CameraSettings,
        data_dir: Path,
        segmenter: SegmenterGetter,
        hub: Hub,
        store: CountStore | None,
        source_factory: SourceFactory,
        zone: ZoneGetter | None = None,
    ) -> None:
        self.config = config
        # Asked on every frame: a zone drawn on the page applies to the next one.
        self._zone: ZoneGetter = zone or (lambda: Zone.of(config.zone))
        self.target_fps = config.target_fps or cameras.target_fps
        self.frame_skip = config.frame_skip if config.frame_skip is not None else cameras.frame_skip
        self._cameras = cameras
        self._data_dir = data_dir  # the demo clip is rendered into it
        self._segmenter = segmenter
        self._hub = hub
        self._store = store
        self._source_factory = source_factory
        self._counter = WindowCounter(window=cameras.count_window)
        self._results: queue.Queue[_Result] = queue.Queue(maxsize=1)
        self._worker = BackgroundThread(f"camera-{config.id}", self._run, STOP_WAIT_S)
        self._stop = self._worker.stopping
        self._lock = threading.Lock()
        self._source: FrameSource | None = None
        self._reset_stats()

    # --- control ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._worker.running

    def start(self) -> None:
        """Start counting (returns at once; the source connects in the background). A loop
        still ending after a stop that timed out is waited for, then `StillStopping`."""
        self._worker.start(self._fresh_start)

    def _fresh_start(self) -> None:
        self._reset_stats()
        with contextlib.suppress(queue.Empty):
            self._results.get_nowait()  # a result of the previous run is not news any more
        self._state = SourceState.STARTING

    def stop(self, timeout_s: float = STOP_WAIT_S) -> None:
        """Stop counting and join the source's and this worker's threads."""
        self._worker.stop(timeout_s)
        self._state = SourceState.STOPPED
        self._hub.forget(self.config.id)
        self._publish_status()

    def latest_frame(self, after_index: int = -1) -> Frame | None:
        """The camera's newest decoded frame if newer than `after_index`; None at once
        otherwise, or while the camera is not streaming (for the WebRTC video track)."""
        source = self._source
        if source is None:
            return None
        return source.latest(after_index=after_index, timeout_s=0.0)

    # --- status -----------------------------------------------------------------------

    def status(self) -> CameraStatus:
        """A consistent snapshot of the camera's state and statistics."""
        source = self._source
        src = source.status if source is not None else None
        state = self._state
        if state is SourceState.STREAMING and src is not None:
            state = src.state  # connecting / reconnecting / error come from the source
        error = self._last_error or (src.last_error if src else None)
        since = src.streaming_since if src and src.state is SourceState.STREAMING else None
        frames_in = src.frames if src else 0
        return CameraStatus(
            state=state,
            last_error=self.config.scrub(error) if error else None,
            reconnects=src.reconnects if src else 0,
            uptime_s=round(time.time() - since, 1) if since else None,
            width=src.width if src else 0,
            height=src.height if src else 0,
            frames_in=frames_in,
            frames_out=self._frames_out,
            fps_in=self._rate_in.per_s(),
            fps_out=self._rate_out.per_s(),
            inference_ms_p50=self._inference_ms.percentile(50),
            inference_ms_p95=self._inference_ms.percentile(95),
            dropped=max(0, frames_in - self._frames_out),
            count=self._count,
            stable_count=self._stable_count,
            segmenter=self._segmenter_name,
        )

    def _reset_stats(self) -> None:
        self._state = SourceState.STOPPED
        self._last_error: str | None = None
        self._frames_out = 0
        self._frames_seen = 0
        self._rate_in = RateMeter()
        self._rate_out = RateMeter()
        self._inference_ms = LatencyWindow()
        self._count: int | None = None
        self._stable_count: int | None = None
        self._confidence = 0.0
        self._frame_confidence = 0.0  # how sure this frame's own count is (no window)
        self._segmenter_name: str | None = None
        self._published_state: str | None = None
        self._started_at = time.perf_counter()
        self._counter.reset()

    # --- the worker thread ------------------------------------------------------------

    def _run(self) -> None:
        source: FrameSource | None = None
        done = threading.Event()
        publisher = threading.Thread(
            target=self._publish_loop, args=(done,), name=f"camera-{self.config.id}-publish"
        )
        try:
            if self.config.kind == "demo":
                ensure_demo_video(self._cameras, self._data_dir, self._stop)
            if self._stop.is_set():
                return
            opened = time.perf_counter()
            source = self._source_factory(self.config)
            source.start()
            self._source = source
            self._state = SourceState.STREAMING
            _perf_stage(self.config.id, "camera_open", opened)
            publisher.start()
            self._loop(source)
        except PigWeightError as exc:
            self._fail(str(exc))
        except Exception as exc:
            # The worker's top loop: anything unexpected is logged in full, shown as `error`.
            # The traceback quotes the exception, and a library's may quote the URL.
            trace = self.config.scrub(traceback.format_exc())
            logger.error("camera %s failed\n%s", self.config.id, trace.rstrip())
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            done.set()
            if publisher.is_alive():
                publisher.join(5.0)
            if source is not None:
                source.stop()
            self._source = None

    def _fail(self, message: str) -> None:
        self._last_error = self.config.scrub(message)
        self._state = SourceState.ERROR
        logger.error("camera %s: %s", self.config.id, self._last_error)
        self._publish_status()

    def _loop(self, source: FrameSource) -> None:
        interval_s = 1.0 / self.target_fps
        last_index = -1
        next_due = time.monotonic()
        while not self._stop.is_set():
            frame = source.latest(after_index=last_index + self.frame_skip, timeout_s=_FRAME_WAIT_S)
            self._note_frames_in(source)
            self._publish_status()
            if frame is None:
                continue
            if last_index < 0:
                _perf_stage(self.config.id, "first_frame", self._started_at)
            self._infer(frame)
            if last_index < 0:
                _perf_stage(self.config.id, "first_inference", self._started_at)
            last_index = frame.index
            now = time.monotonic()
            # Never burst to catch up after a slow frame: the newest frame is what matters.
            next_due = max(next_due + interval_s, now)
            if next_due > now:
                self._stop.wait(next_due - now)

    def _note_frames_in(self, source: FrameSource) -> None:
        frames = source.status.frames
        if frames > self._frames_seen:
            self._rate_in.add(frames - self._frames_seen)
        self._frames_seen = frames

    def _infer(self, frame: Frame) -> None:
        started = time.perf_counter()
        segmenter = self._segmenter()
        detections = segmenter.segment(frame.image)
        self._segmenter_name = segmenter_label(segmenter)
        self._inference_ms.add((time.perf_counter() - started) * 1000.0)
        zone = self._zone()
        counted, inside = split(detections, zone)
        sample = CountSample(ts=frame.ts, count=len(counted), confidence=counted.confidence)
        stable = self._counter.add(sample)
        self._count, self._stable_count = len(counted), stable.value
        self._confidence = stable.confidence
        self._frame_confidence = round(float(counted.confidence), 4)
        self._frames_out += 1
        self._rate_out.add()
        if self._store is not None:
            self._store.submit(
                CountRow(self.config.id, frame.ts, len(counted), stable.value, stable.confidence)
            )
        self._offer(_Result(frame, detections, inside, zone, self._message(frame.ts, zone)))

    def _offer(self, result: _Result) -> None:
        """Hand a result to the publisher; a result it has not taken yet is replaced."""
        try:
            self._results.put_nowait(result)
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                self._results.get_nowait()
            self._results.put_nowait(result)  # only this thread puts: there is room now

    def _publish_loop(self, done: threading.Event) -> None:
        """The publisher thread: overlay, JPEG and outlines of each result, to the hub."""
        while not done.is_set():
            try:
                result = self._results.get(timeout=_FRAME_WAIT_S)
            except queue.Empty:
                continue
            try:
                self._publish(result)
            except Exception:
                logger.exception("camera %s: publishing a result failed", self.config.id)

    def _publish(self, result: _Result) -> None:
        # The picture shows its own count, the one its masks add up to; the stable count
        # (mode of the window, which lags while animals walk on or off) is in the message.
        overlay = draw_overlay(
            result.frame.image, result.detections, inside=result.inside, zone=result.zone
        )
        jpeg = encode_jpeg(overlay, quality=80)
        outlines = mask_outlines(result.detections)
        message = replace(
            result.message,
            outlines=[o for o, on in zip(outlines, result.inside, strict=True) if on],
            outside_outlines=[o for o, on in zip(outlines, result.inside, strict=True) if not on],
        )
        self._hub.publish(LiveUpdate(self.config.id, message, jpeg), raw=result.frame.image)
        with self._lock:
            self._published_state = message.status

    def _message(self, ts: float, zone: Zone | None = None) -> CountMessage:
        status = self.status()
        if zone is None:
            zone = self._zone()
        return CountMessage(
            camera=self.config.id,
            ts=ts,
            status=status.state.value,
            count=self._count,
            stable_count=self._stable_count,
            confidence=self._confidence,
            frame_confidence=self._frame_confidence,
            segmenter=self._segmenter_name,
            last_error=status.last_error,
            last_error_kind=error_kind(status.last_error),
            zone=zone.to_json() if zone is not None else None,
        )

    def _publish_status(self) -> None:
        """Tell subscribers when the state changes (no inference happens while it is bad)."""
        state = self.status().state.value
        with self._lock:
            if state == self._published_state:
                return
            self._published_state = state
        self._hub.publish(LiveUpdate(self.config.id, self._message(time.time())))


def _perf_stage(camera: str, stage: str, started: float) -> None:
    perf_logger.info(
        "stage=%s camera=%s duration_ms=%.1f",
        stage,
        camera,
        (time.perf_counter() - started) * 1000.0,
    )


def segmenter_label(segmenter: Segmenter) -> str:
    """What counted, as a record keeps it: 'classic', or 'yolo_onnx:farm-pigs.onnx'."""
    model = getattr(segmenter, "model_path", None)
    return f"{segmenter.name}:{Path(model).name}" if model else segmenter.name


def with_conf(vision: VisionSettings, config: CameraConfig) -> VisionSettings:
    """The vision settings a camera's segmenter is built with (its own threshold, backend)."""
    changes: dict[str, object] = {}
    if config.conf_threshold is not None:
        changes["conf_threshold"] = config.conf_threshold
    if config.segmenter is not None:
        changes["segmenter"] = config.segmenter
    if config.model is not None:
        changes["model_path"] = config.model.expanduser()
        if config.segmenter is None and vision.segmenter == "classic":
            changes["segmenter"] = "pig"
    return vision.model_copy(update=changes) if changes else vision
