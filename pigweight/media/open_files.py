"""Open video files kept for reuse by exact-frame reads, segments and on-demand counts.

Opening an MP4 makes FFmpeg read its whole sample table: about 20 ms for an hour of 1080p
(90 000 entries), paid again on every seek and every segment of the same file. `OpenFiles`
lends an open container to one caller at a time and takes it back with its decoder reset;
a handful stay open, the least recently used are closed. The archive owns one and closes
it at shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av

from pigweight.media.probe import detect_format, open_video

logger = logging.getLogger(__name__)

_Key = tuple[str, bool, int, int]  # path, full header, mtime_ns, size: a replaced file is new


class OpenFiles:
    """At most `max_idle` idle containers; each borrowed by one thread at a time."""

    def __init__(self, max_idle: int = 8) -> None:
        self.max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: OrderedDict[tuple[_Key, int], av.container.InputContainer] = OrderedDict()
        self._serial = 0
        self.opened = 0  # for tests and diagnostics

    @contextmanager
    def borrow(
        self, path: Path, *, full_header: bool = True
    ) -> Iterator[av.container.InputContainer]:
        """An open container of path, positioned anywhere: seek before reading."""
        try:
            stat = Path(path).stat()
        except OSError:
            detect_format(Path(path))  # raises InvalidVideo saying what is wrong
            raise
        key: _Key = (str(path), full_header, stat.st_mtime_ns, stat.st_size)
        container = self._take(key)
        if container is None:
            container = open_video(path, full_header=full_header)
            self.opened += 1
        healthy = False
        try:
            yield container
            healthy = True
        finally:
            if healthy and _reset(container):
                self._give_back(key, container)
            else:
                container.close()

    def close(self) -> None:
        """Close every idle container (shutdown)."""
        with self._lock:
            idle = list(self._idle.values())
            self._idle.clear()
        for container in idle:
            container.close()

    def _take(self, key: _Key) -> av.container.InputContainer | None:
        with self._lock:
            for slot in self._idle:
                if slot[0] == key:
                    return self._idle.pop(slot)
        return None

    def _give_back(self, key: _Key, container: av.container.InputContainer) -> None:
        with self._lock:
            self._serial += 1
            self._idle[(key, self._serial)] = container
            evicted = []
            while len(self._idle) > self.max_idle:
                evicted.append(self._idle.popitem(last=False)[1])
        for old in evicted:
            old.close()


def _reset(container: av.container.InputContainer) -> bool:
    """Clear decoder state a borrower left (drained, skipping frames); False if it cannot."""
    try:
        for stream in container.streams.video:
            codec = stream.codec_context
            codec.skip_frame = "DEFAULT"
            with contextlib.suppress(av.FFmpegError, ValueError):
                codec.flush_buffers()
    except (av.FFmpegError, ValueError, AttributeError) as exc:
        logger.debug("open file not kept: %s", exc)
        return False
    return True
