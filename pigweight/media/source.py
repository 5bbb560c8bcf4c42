"""FrameSource: a camera or a file decoded on its own thread into a latest-frame slot.

Consumers never wait on decoding: they take the newest frame when they are ready for one
(`latest`), so a slow consumer sees fewer frames, never older ones.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from pigweight.background import BackgroundThread
from pigweight.domain import Frame
from pigweight.errors import InvalidVideo

logger = logging.getLogger(__name__)
STOP_WAIT_S = 5.0  # a replay's thread ends within a frame; this is for a stuck decode


class SourceState(StrEnum):
    STARTING = "starting"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What a source is doing; `last_error` never holds a password."""

    state: SourceState = SourceState.STOPPED
    last_error: str | None = None
    reconnects: int = 0
    streaming_since: float | None = None  # time.time() when frames started flowing
    frames: int = 0  # frames decoded since start()
    width: int = 0
    height: int = 0


class FrameSource(Protocol):
    """Decodes on a thread of its own; `stop()` joins it."""

    def start(self) -> None: ...

    def stop(self, timeout_s: float = 5.0) -> None: ...

    def latest(self, after_index: int = -1, timeout_s: float = 1.0) -> Frame | None:
        """The newest frame with index > after_index, waiting up to timeout_s; else None."""
        ...

    @property
    def status(self) -> SourceStatus: ...


@dataclass
class FrameSlot:
    """One-frame mailbox between a decoding thread and its consumer (newest wins)."""

    _frame: Frame | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def put(self, frame: Frame) -> None:
        with self._cond:
            self._frame = frame
            self._cond.notify_all()

    def get(self, after_index: int, timeout_s: float) -> Frame | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._frame is None or self._frame.index <= after_index:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._frame


class StatusKeeping:
    """A source's status: set by its thread, read by the camera worker (under `_lock`)."""

    def __init__(self) -> None:
        self._status = SourceStatus()
        self._lock = threading.Lock()

    @property
    def status(self) -> SourceStatus:
        with self._lock:
            return self._status

    def _set_status(self, status: SourceStatus) -> None:
        with self._lock:
            self._status = status

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]


class FileSource(StatusKeeping):
    """A video file replayed at real-time pace, in a loop (the demo camera, replays)."""

    def __init__(self, path: Path, source_id: str = "", loop: bool = True) -> None:
        super().__init__()
        self.path = Path(path)
        self.source_id = source_id
        self.loop = loop
        self._slot = FrameSlot()
        self._worker = BackgroundThread(
            f"source-{self.source_id or self.path.name}", self._run, STOP_WAIT_S
        )
        self._stop = self._worker.stopping

    def start(self) -> None:
        """Start playing; a thread still ending after a stop that timed out is waited for
        (`STOP_WAIT_S`), then `StillStopping`."""
        self._worker.start(lambda: self._set_status(SourceStatus(state=SourceState.STARTING)))

    def stop(self, timeout_s: float = STOP_WAIT_S) -> None:
        self._worker.stop(timeout_s)
        self._set(state=SourceState.STOPPED, streaming_since=None)

    def latest(self, after_index: int = -1, timeout_s: float = 1.0) -> Frame | None:
        return self._slot.get(after_index, timeout_s)

    def _run(self) -> None:
        index = 0
        try:
            while not self._stop.is_set():
                index = self._play_once(index)
                if not self.loop:
                    break
        except (InvalidVideo, av.FFmpegError, OSError) as exc:
            logger.error("source %s failed: %s", self.source_id, exc)
            self._set(state=SourceState.ERROR, last_error=str(exc))
            return
        if not self._stop.is_set():
            self._set(state=SourceState.STOPPED)

    def _play_once(self, index: int) -> int:
        """Decode the file once at real-time pace; returns the next frame index."""
        if not self.path.is_file():
            raise InvalidVideo(f"{self.path}: no such file")
        with av.open(str(self.path), options={"protocol_whitelist": "file"}) as container:
            stream = container.streams.video[0]
            # Slice threads, not frame threads: freeing a frame-threaded decoder waits for its
            # threads while holding the GIL, and a thread that is logging through PyAV's
            # Python callback (av.logging on, as the secrets test sets it) waits for the
            # GIL: a deadlock seen once, the camera's stop hung for good. A replay runs at
            # real-time pace and needs no frame threads.
            stream.thread_type = "SLICE"
            started = time.monotonic()
            first_t: float | None = None
            for frame in container.decode(stream):
                if self._stop.is_set():
                    break
                t = float(frame.time or 0.0)
                first_t = t if first_t is None else first_t
                delay = (t - first_t) - (time.monotonic() - started)
                if delay > 0 and self._stop.wait(delay):
                    break
                image = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                self._slot.put(Frame(image, ts=time.time(), index=index, source_id=self.source_id))
                index += 1
                self._on_frame(image, index)
        return index

    def _on_frame(self, image: np.ndarray, frames: int) -> None:
        status = self.status
        if status.state is not SourceState.STREAMING:
            self._set(
                state=SourceState.STREAMING,
                streaming_since=time.time(),
                width=image.shape[1],
                height=image.shape[0],
            )
        self._set(frames=frames)


def open_source(url_or_path: str, source_id: str, **rtsp_options: Any) -> FrameSource:
    """The FrameSource for a camera URL (`rtsp://`, `rtsps://`) or a video file (looped).

    `rtsp_options` go to RtspSource (open_timeout_s, read_timeout_s, stall_s, host_check, …).
    """
    from pigweight.media.rtsp import SCHEMES, RtspSource  # rtsp.py imports this module
    from pigweight.redact import redact_url

    if url_or_path.lower().startswith(SCHEMES):
        return RtspSource(url_or_path, source_id, **rtsp_options)
    if "://" not in url_or_path and Path(url_or_path).is_file():
        return FileSource(Path(url_or_path), source_id, loop=True)
    raise ValueError(
        f"{redact_url(url_or_path)!r} is neither an rtsp:// or rtsps:// camera URL "
        "nor an existing video file"
    )
