"""The demo camera's clip: rendered once into DATA_DIR, then replayed in a loop."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from pigweight.cameras import demo_video_path
from pigweight.settings import CameraSettings
from pigweight.synthetic import truth_path, write_demo_video

logger = logging.getLogger(__name__)
perf_logger = logging.getLogger("pigweight.perf")

_render_lock = threading.Lock()


class _Cancelled(Exception):
    """The camera was stopped while its clip was being rendered."""


def ensure_demo_video(
    cameras: CameraSettings, data_dir: Path, stop: threading.Event
) -> Path | None:
    """The demo clip, rendering it first if missing (~0.6 s per second of 720p video).

    Returns None when `stop` was set meanwhile; the half-written file is removed.
    """
    path = demo_video_path(cameras, data_dir)
    with _render_lock:
        if path.is_file():
            return path
        width = cameras.demo_video_width // 2 * 2
        height = round(width * 9 / 16 / 2) * 2
        # Rendered under a temporary name: a crash mid-way must not leave a clip that
        # looks finished and plays only its first seconds.
        partial = path.with_name(f"{path.stem}.part{os.getpid()}.mp4")
        started = time.perf_counter()

        def progress(_done: int, _total: int) -> None:
            if stop.is_set():
                raise _Cancelled

        try:
            write_demo_video(
                partial,
                seconds=cameras.demo_video_seconds,
                width=width,
                height=height,
                progress=progress,
            )
        except _Cancelled:
            partial.unlink(missing_ok=True)
            return None
        partial.replace(path)
        if truth_path(partial).is_file():
            truth_path(partial).replace(truth_path(path))
        perf_logger.info(
            "stage=demo_render camera=demo duration_ms=%.1f",
            (time.perf_counter() - started) * 1000.0,
        )
        return path
