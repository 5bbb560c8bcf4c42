"""Prometheus metrics of one app, read from its status objects at scrape time (GET /metrics).

Nothing on a hot path counts for Prometheus: the camera workers, the hub, the count store,
the record book and the indexer keep their own figures, and a scrape reads them. Each app
has its own CollectorRegistry, so apps created side by side (tests) never share a metric.
Cameras are labelled by id only: no URL, name or error text is exported (they may hold
credentials).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from pigweight.media.source import SourceState
from pigweight.pipeline.archive import Archive
from pigweight.pipeline.camera_worker import CameraStatus
from pigweight.pipeline.live import LiveServices
from pigweight.store import videos as video_repo

logger = logging.getLogger(__name__)

_MS_PER_S = 1000.0
# LoopLagMonitor.percentiles() keys as quantiles; the maximum is quantile 1.
_LAG_QUANTILES = {"p50": "0.5", "p99": "0.99", "max": "1"}


@dataclass(frozen=True, slots=True)
class LoopView:
    """What only the event loop may read: the hub's subscribers and the loop's lag."""

    subscribers: dict[str, int]  # camera -> connected live clients
    queue_depth: dict[str, int]  # camera -> updates waiting in its deepest subscriber queue
    queue_capacity: int
    disconnected: int
    lag_ms: dict[str, float | None]

    @classmethod
    def take(cls, live: LiveServices) -> LoopView:
        """Read the figures now (call on the event loop)."""
        cameras = list(live.manager.cameras)
        return cls(
            subscribers={c: live.hub.subscriber_count(c) for c in cameras},
            queue_depth={c: live.hub.max_queue_depth(c) for c in cameras},
            queue_capacity=live.hub.queue_size,
            disconnected=live.hub.disconnected,
            lag_ms=live.lag.percentiles(),
        )


class PigWeightCollector:
    """Yields the pigweight_* metric families; collect() runs in a worker thread."""

    def __init__(self, live: LiveServices, archive: Archive) -> None:
        self._live = live
        self._archive = archive
        self.loop_view: LoopView | None = None  # set by AppMetrics before each collect()

    def collect(self) -> Iterator[Metric]:
        yield from _camera_families(self._live.manager.statuses())
        if self.loop_view is not None:
            yield from _loop_families(self.loop_view)
        store = self._live.store
        yield GaugeMetricFamily(
            "pigweight_count_store_queue_depth",
            "Count samples waiting for the database writer.",
            value=store.queue_depth,
        )
        yield CounterMetricFamily(
            "pigweight_count_store_dropped_samples",
            "Count samples dropped because the writer's queue was full.",
            value=store.dropped,
        )
        yield CounterMetricFamily(
            "pigweight_weighing_records_written",
            "Weighing records created (replays of an Idempotency-Key excluded).",
            value=self._live.records.records_written,
        )
        yield from self._archive_families()

    def _archive_families(self) -> Iterator[Metric]:
        indexer = self._archive.indexer
        if indexer is None:  # not started yet, or stopped
            return
        try:
            with indexer.engine.connect() as conn:
                counts = video_repo.count_by_state(conn)
        except SQLAlchemyError as exc:
            # A busy or closing database costs this family, not the whole scrape.
            logger.warning("metrics: archive job states not read: %s", exc)
        else:
            jobs = GaugeMetricFamily(
                "pigweight_archive_jobs", "Archive videos by index state.", labels=["state"]
            )
            for state, n in counts.items():
                jobs.add_metric([state], n)
            yield jobs
        samples = GaugeMetricFamily(
            "pigweight_archive_indexing_samples_per_second",
            "Frames counted per second by the indexer, per unfinished job (moving average).",
            labels=["video"],
        )
        video_s = GaugeMetricFamily(
            "pigweight_archive_indexing_video_seconds_per_second",
            "Seconds of video indexed per second (a multiple of real time), per unfinished job.",
            labels=["video"],
        )
        for video_id, (samples_per_s, video_s_per_s) in sorted(indexer.speeds().items()):
            samples.add_metric([str(video_id)], samples_per_s)
            video_s.add_metric([str(video_id)], video_s_per_s)
        yield samples
        yield video_s


def _camera_families(statuses: dict[str, CameraStatus]) -> Iterator[Metric]:
    fps_in = GaugeMetricFamily(
        "pigweight_camera_frames_in_per_second",
        "Frames decoded per second from the camera's source (last 10 s).",
        labels=["camera"],
    )
    fps_out = GaugeMetricFamily(
        "pigweight_camera_frames_out_per_second",
        "Frames counted per second, after inference (last 10 s).",
        labels=["camera"],
    )
    frames_in = CounterMetricFamily(
        "pigweight_camera_frames_in",
        "Frames decoded since the camera last started.",
        labels=["camera"],
    )
    frames_out = CounterMetricFamily(
        "pigweight_camera_frames_out",
        "Frames counted since the camera last started.",
        labels=["camera"],
    )
    inference = GaugeMetricFamily(
        "pigweight_camera_inference_seconds",
        "Inference time per frame over the camera's last 200 frames, by quantile.",
        labels=["camera", "quantile"],
    )
    reconnects = CounterMetricFamily(
        "pigweight_camera_reconnects",
        "Reconnections of the camera's source since the camera last started.",
        labels=["camera"],
    )
    dropped = CounterMetricFamily(
        "pigweight_camera_dropped_frames",
        "Frames decoded but never counted since the camera last started "
        "(TARGET_FPS and FRAME_SKIP skip most of them on purpose).",
        labels=["camera"],
    )
    state = GaugeMetricFamily(
        "pigweight_camera_state",
        "1 for the camera's current state, 0 for the others.",
        labels=["camera", "state"],
    )
    for camera, s in statuses.items():
        fps_in.add_metric([camera], s.fps_in)
        fps_out.add_metric([camera], s.fps_out)
        frames_in.add_metric([camera], s.frames_in)
        frames_out.add_metric([camera], s.frames_out)
        for quantile, ms in (("0.5", s.inference_ms_p50), ("0.95", s.inference_ms_p95)):
            if ms is not None:
                inference.add_metric([camera, quantile], ms / _MS_PER_S)
        reconnects.add_metric([camera], s.reconnects)
        dropped.add_metric([camera], s.dropped)
        for value in SourceState:
            state.add_metric([camera, value.value], 1.0 if s.state is value else 0.0)
    yield from (fps_in, fps_out, frames_in, frames_out, inference, reconnects, dropped, state)


def _loop_families(view: LoopView) -> Iterator[Metric]:
    subscribers = GaugeMetricFamily(
        "pigweight_hub_subscribers",
        "Subscribers of the camera's live updates (WebSocket, MJPEG, auto weighing).",
        labels=["camera"],
    )
    depth = GaugeMetricFamily(
        "pigweight_hub_queue_depth",
        "Updates waiting in the camera's deepest subscriber queue (its slowest client).",
        labels=["camera"],
    )
    for camera, n in view.subscribers.items():
        subscribers.add_metric([camera], n)
        depth.add_metric([camera], view.queue_depth[camera])
    yield subscribers
    yield depth
    yield GaugeMetricFamily(
        "pigweight_hub_queue_capacity",
        "Updates a subscriber queue holds before the oldest is dropped.",
        value=view.queue_capacity,
    )
    yield CounterMetricFamily(
        "pigweight_hub_clients_disconnected",
        "Live clients disconnected for staying behind.",
        value=view.disconnected,
    )
    lag = GaugeMetricFamily(
        "pigweight_event_loop_lag_seconds",
        "How late the event loop wakes up from a sleep, over the last ~10 minutes, "
        "by quantile (1 is the maximum).",
        labels=["quantile"],
    )
    for key, quantile in _LAG_QUANTILES.items():
        ms = view.lag_ms.get(key)
        if ms is not None:
            lag.add_metric([quantile], ms / _MS_PER_S)
    yield lag


class AppMetrics:
    """The app's registry: PigWeight's collector and the process's CPU and memory."""

    def __init__(self, live: LiveServices, archive: Archive) -> None:
        self._live = live
        self.registry = CollectorRegistry()
        self._collector = PigWeightCollector(live, archive)
        self.registry.register(self._collector)
        ProcessCollector(registry=self.registry)
        self._lock = threading.Lock()

    async def render(self) -> bytes:
        """The text exposition (call on the event loop).

        The hub and the lag monitor are read here, on the loop that owns them; the rest
        (camera statistics, a database query) in a worker thread.
        """
        view = LoopView.take(self._live)
        return await anyio.to_thread.run_sync(self._generate, view)

    def _generate(self, view: LoopView) -> bytes:
        with self._lock:  # one scrape at a time: the loop view belongs to this one
            self._collector.loop_view = view
            return generate_latest(self.registry)
