"""Which FrameSource a camera gets: RTSP ingest for rtsp(s)://, a looping file otherwise."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from pigweight.camera_policy import HostPolicy
from pigweight.cameras import CameraConfig
from pigweight.media.source import FileSource, FrameSource
from pigweight.pipeline.camera_worker import SourceFactory
from pigweight.settings import CameraSettings


def open_camera_source(config: CameraConfig, policy: HostPolicy | None = None) -> FrameSource:
    """A started-on-demand source for a camera; the URL carries its credentials.

    With a `policy`, an RTSP camera's host is checked (names resolved) before every
    connection: a name that comes to point at this computer or a metadata address is refused.
    """
    if config.kind == "rtsp":
        from pigweight.media.rtsp import RtspSource

        host_check = None if policy is None else policy.check
        return RtspSource(config.open_url(), config.id, host_check=host_check)
    return FileSource(Path(config.url), source_id=config.id, loop=True)


def camera_source_factory(cameras: CameraSettings) -> SourceFactory:
    """open_camera_source with CAMERA_ALLOW_HOSTS applied: what create_app uses by default."""
    return partial(open_camera_source, policy=HostPolicy.of(cameras))
