"""Video files in, sampled RGB frames out (PyAV), with a clear error for bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from pigweight.domain import Frame
from pigweight.errors import InvalidVideo

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".ts", ".m4v", ".webm", ".h264"})

# Local files only: a crafted playlist must not make FFmpeg open URLs or other files.
_FILE_OPTIONS = {"protocol_whitelist": "file"}


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InvalidVideo(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InvalidVideo(f"{path}: the file is empty (0 bytes)")
    try:
        container = av.open(str(path), mode="r", options=_FILE_OPTIONS)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidVideo(f"{path}: not a video PigWeight can read ({exc})") from None
    if not container.streams.video:
        container.close()
        raise InvalidVideo(f"{path}: the file has no video stream")
    return container


def video_duration_s(path: Path) -> float | None:
    """Duration in seconds from the container header, None when it does not say."""
    with _open(path) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / av.time_base
    return None


def sample_frames(path: Path, every_s: float) -> Iterator[Frame]:
    """Decode the first frame at or after 0, every_s, 2*every_s ... seconds."""
    if every_s <= 0:
        raise ValueError("every_s must be positive")
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        next_t = 0.0
        index = 0
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else index / _rate(stream)
                index += 1
                if t + 1e-6 < next_t:
                    continue
                image = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                yield Frame(image=image, ts=t, index=index - 1)
                while next_t <= t + 1e-6:
                    next_t += every_s
        except av.FFmpegError as exc:
            if index == 0:
                raise InvalidVideo(f"{path}: the video cannot be decoded ({exc})") from None
            # A truncated recording: keep what decoded, as an NVR file cut by a power loss.
        if index == 0:
            raise InvalidVideo(f"{path}: the video holds no decodable frame")
    finally:
        container.close()


def _rate(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else 25.0
