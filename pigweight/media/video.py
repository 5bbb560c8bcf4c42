"""Video files in, sampled RGB frames out (PyAV), with a clear error for bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from pigweight.domain import Frame
from pigweight.errors import InvalidVideo
from pigweight.media.probe import frame_rate, header_duration_s, open_video


def video_duration_s(path: Path) -> float | None:
    """Duration in seconds from the container header, None when it does not say."""
    with open_video(path) as container:
        return header_duration_s(container, container.streams.video[0])


def sample_frames(path: Path, every_s: float) -> Iterator[Frame]:
    """Decode the first frame at or after 0, every_s, 2*every_s ... seconds."""
    if every_s <= 0:
        raise ValueError("every_s must be positive")
    # Container forced from the file's first bytes, local files only: a playlist or concat
    # list named .mp4 cannot make FFmpeg read other files (media/probe.py).
    container = open_video(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        next_t = 0.0
        index = 0
        try:
            for frame in container.decode(stream):
                rate = frame_rate(stream) or 25.0
                t = float(frame.time) if frame.time is not None else index / rate
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
