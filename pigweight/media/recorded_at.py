"""When a recording began: from the name the NVR gave the file, or from the container.

A weighing recorded from a frame of a recording happened at the recording's start plus the
frame's time, not when the operator pressed Save. NVRs write the start into the file name
(Hikvision `ch01_20240514073004.mp4`, `cam1_20240514_073004.mp4`, `2024-05-14_07-30-04.mkv`),
in the recorder's local time, which is the farm's; cameras and phones write it into the
container (`creation_time`, UTC). The name comes first: an NVR's export tool often stamps
the container with the moment of the export instead. Neither known: None, and the
operator types the moment.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import av

from pigweight.errors import InvalidVideo
from pigweight.media.probe import open_video

logger = logging.getLogger(__name__)

# YYYYMMDDhhmmss, YYYYMMDD_hhmmss, YYYY-MM-DD hh:mm:ss and the like, not inside a longer
# run of digits (a 20-digit serial number is no date).
_NAME_TIME = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})[ _T-]?(\d{2})[-:.]?(\d{2})[-:.]?(\d{2})(?!\d)"
)
_FIRST_YEAR, _LAST_YEAR = 2000, 2099


@dataclass(frozen=True, slots=True)
class RecordingStart:
    ts: float  # epoch seconds
    source: str  # "file name" | "container"


def start_from_name(name: str, zone: tzinfo) -> float | None:
    """The first plausible date and time in a file name, read in the farm's time zone."""
    for match in _NAME_TIME.finditer(Path(name).stem):
        year, month, day, hour, minute, second = map(int, match.groups())
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            continue
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=zone)
        except ValueError:  # month 13, 25 o'clock: digits, not a date
            continue
        return moment.timestamp()
    return None


def start_from_container(path: Path) -> float | None:
    """The container's `creation_time` (UTC, as MP4 and Matroska keep it), if plausible.

    Read once per version of the file (its size and modification time): opening a 10 GB
    recording parses its index, and `GET /api/video_file/{id}` is polled while it indexes.
    """
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return _container_start(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _container_start(path: str, _size: int, _mtime_ns: int) -> float | None:
    try:
        with open_video(Path(path), full_header=False) as container:
            text = container.metadata.get("creation_time", "")
    except (InvalidVideo, av.FFmpegError, OSError) as exc:
        logger.info("%s: no creation time read: %s", Path(path).name, exc)
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Muxers write 1970 or 1904 when nothing set it: that is no recording's start.
    return moment.timestamp() if _FIRST_YEAR <= moment.year <= _LAST_YEAR else None


def recording_start(path: Path, name: str, zone: tzinfo) -> RecordingStart | None:
    """When the recording began, and where that was read; None when nothing says."""
    by_name = start_from_name(name, zone)
    if by_name is not None:
        return RecordingStart(by_name, "file name")
    by_container = start_from_container(path)
    if by_container is not None:
        return RecordingStart(by_container, "container")
    return None
