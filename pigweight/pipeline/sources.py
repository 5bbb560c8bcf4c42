"""Which FrameSource a camera gets: RTSP ingest for rtsp(s)://, a looping file otherwise."""

from __future__ import annotations

from pathlib import Path

from pigweight.cameras import CameraConfig
from pigweight.media.source import FileSource, FrameSource


def open_camera_source(config: CameraConfig) -> FrameSource:
    """A started-on-demand source for a camera; the URL carries its credentials."""
    if config.kind == "rtsp":
        from pigweight.media.source import open_source

        return open_source(config.open_url(), config.id)
    return FileSource(Path(config.url), source_id=config.id, loop=True)
