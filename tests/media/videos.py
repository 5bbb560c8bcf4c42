"""Tiny test videos written with PyAV: chosen keyframe interval, size, codec and container."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt


def pattern(index: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """A frame that differs from its neighbours: a moving gradient and a bright block."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[..., 0] = (x * 2 + index * 3) % 256
    image[..., 1] = (y * 2 + index * 5) % 256
    image[..., 2] = ((x + y) + index * 7) % 256
    side = max(4, min(width, height) // 6)
    left = (index * 4) % max(1, width - side)
    image[height // 3 : height // 3 + side, left : left + side] = 255
    return image


def write_clip(
    path: Path,
    seconds: float = 4.0,
    fps: int = 25,
    gop_s: float = 1.0,
    width: int = 160,
    height: int = 120,
    codec: str = "libx264",
    bframes: int | None = None,
    faststart: bool = False,
    slices: int | None = None,
    picture: Callable[[int, int, int], npt.NDArray[np.uint8]] = pattern,
) -> Path:
    """Write `path` (container from its suffix) with a keyframe exactly every `gop_s` seconds.

    MP4s from PyAV keep their `moov` at the end unless `faststart` moves it to the front.
    `bframes=None` keeps the encoder's default (libx264 uses B-frames: reordered timestamps).
    `slices` cuts every libx264 frame into that many slices (None: the encoder's choice).
    `picture(index, width, height)` draws each frame (a moving pattern unless given).
    """
    gop = max(1, round(gop_s * fps))
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        if bframes is not None:
            stream.codec_context.max_b_frames = bframes
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "keyint_min": str(gop), "sc_threshold": "0"}
            if slices is not None:
                stream.thread_type = "FRAME"  # slice threads would add slices of their own
                stream.options["x264-params"] = f"slices={slices}"
        elif codec == "libx265":
            params = f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
            if bframes is not None:
                params += f":bframes={bframes}"
            stream.options = {"preset": "ultrafast", "x265-params": params}
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(picture(i, width, height), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An audio file with no video stream (AAC in MP4, or PCM in WAV by suffix)."""
    codec = "pcm_s16le" if path.suffix == ".wav" else "aac"
    rate = 48000
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        fmt = "s16" if codec == "pcm_s16le" else "fltp"
        samples = 1024
        for i in range(round(seconds * rate / samples)):
            t = (np.arange(samples) + i * samples) / rate
            wave = np.sin(2 * np.pi * 440 * t)
            data = (wave * 8000).astype(np.int16) if fmt == "s16" else wave.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(data[None, :], format=fmt, layout="mono")
            frame.sample_rate = rate
            frame.pts = i * samples
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def truncated_copy(source: Path, dest: Path, fraction: float = 0.6) -> Path:
    """The first `fraction` of the bytes of `source`, as a recording cut by a power loss."""
    size = source.stat().st_size
    with source.open("rb") as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out)
        cut = int(size * fraction)
        # A power loss stops at any byte. One that falls exactly between two MPEG-TS packets
        # (188 or 192 bytes) leaves a file that is whole as far as anything can tell (probe.py
        # says so); the encoder's output varies a little from run to run, so step off it.
        while cut % 188 == 0 or cut % 192 == 0:
            cut -= 1
        out.truncate(cut)
    return dest


def decode_all(path: Path) -> list[av.VideoFrame]:
    """Every frame of the first video stream, in presentation order (no forced format)."""
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def write_vfr_clip(path: Path, times_s: list[float], width: int = 160, height: int = 120) -> Path:
    """H.264 with B-frames and frames at the given times (variable frame rate, as NVRs do)."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.codec_context.gop_size = 50
        stream.options = {"preset": "veryfast", "sc_threshold": "0"}
        for i, t in enumerate(times_s):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
            frame.pts = round(t * 1000)
            frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
