from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pigweight.cameras import CameraConfig, demo_camera
from pigweight.media.source import SourceState
from pigweight.pipeline.camera_worker import CameraWorker
from pigweight.pipeline.hub import Hub
from pigweight.pipeline.sources import open_camera_source
from pigweight.settings import Settings
from pigweight.store.db import open_database
from pigweight.store.writer import CountStore
from pigweight.vision.segmenter import create_segmenter


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"_env_file": None, "data_dir": tmp_path / "data"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _worker(
    settings: Settings, camera: CameraConfig, hub: Hub, store: CountStore | None
) -> CameraWorker:
    segmenter = create_segmenter(settings.vision)
    return CameraWorker(
        camera,
        settings.cameras,
        settings.server.data_dir,
        lambda: segmenter,
        hub,
        store,
        open_camera_source,
    )


def _wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_file_camera_streams_counts_and_stores(tmp_path: Path, tiny_clip: Path) -> None:
    settings = _settings(tmp_path, target_fps=10)
    store = CountStore(retention_days=1)
    store.start(open_database(settings.server.data_dir))
    hub = Hub()
    worker = _worker(settings, CameraConfig(id="pen1", url=str(tiny_clip), kind="file"), hub, store)
    worker.start()
    try:
        assert _wait_for(lambda: worker.status().frames_out >= 5, 20), worker.status()
        status = worker.status()
        assert status.state is SourceState.STREAMING
        assert (status.width, status.height) == (320, 180)
        assert status.inference_ms_p50 is not None and status.count is not None
        update = hub.latest_frame("pen1")
        assert update is not None and update.jpeg is not None and update.jpeg[:2] == b"\xff\xd8"
        body = json.loads(update.body.json_text())
        assert {"camera", "ts", "count", "stable_count", "confidence", "status", "outlines"} <= set(
            body
        )
    finally:
        worker.stop()
    assert worker.status().state is SourceState.STOPPED
    assert store.flush()
    rows = store.series("pen1", since_ts=0)
    store.stop()
    assert len(rows) >= 5 and all(r.camera == "pen1" for r in rows)


def test_start_stop_cycles_leave_no_thread_behind(tmp_path: Path, tiny_clip: Path) -> None:
    settings = _settings(tmp_path)
    worker = _worker(
        settings, CameraConfig(id="pen1", url=str(tiny_clip), kind="file"), Hub(), None
    )
    before = set(threading.enumerate())
    for _ in range(20):
        worker.start()
        time.sleep(0.02)
        worker.stop()
    left = set(threading.enumerate()) - before
    assert not left, [t.name for t in left]


def test_a_missing_file_is_an_error_with_its_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    camera = CameraConfig(id="pen1", url=str(tmp_path / "gone.mp4"), kind="file")
    worker = _worker(settings, camera, Hub(), None)
    worker.start()
    try:
        assert _wait_for(lambda: worker.status().state is SourceState.ERROR, 10)
        assert "gone.mp4" in (worker.status().last_error or "")
    finally:
        worker.stop()


def test_the_demo_camera_renders_its_clip_then_streams(tmp_path: Path) -> None:
    settings = _settings(tmp_path, demo_video_seconds=1, demo_video_width=320)
    worker = _worker(settings, demo_camera(settings), Hub(), None)
    worker.start()
    try:
        assert worker.status().state is SourceState.STARTING
        assert _wait_for(lambda: worker.status().frames_out >= 2, 30), worker.status()
    finally:
        worker.stop()
    clip = Path(demo_camera(settings).url)
    assert clip.is_file() and not list(clip.parent.glob("*.part*"))


def test_records_name_the_model_that_counted() -> None:
    from pigweight.pipeline.camera_worker import segmenter_label
    from pigweight.vision.classic import ClassicSegmenter

    class Model:
        name = "yolo_onnx"
        model_path = Path("/opt/farm/pigs-v3.onnx")

    assert segmenter_label(ClassicSegmenter()) == "classic"
    assert segmenter_label(Model()) == "yolo_onnx:pigs-v3.onnx"  # type: ignore[arg-type]
