"""HLS for archive files: a VOD playlist from the keyframe index, segments remuxed on demand.

Segments are cut in decode order at keyframe packets, so a segment is the packets from one
keyframe up to (not including) the next chosen one: every packet of the file lands in exactly
one segment. All segments of a file share one timestamp mapping (t + `PTS_OFFSET_S`), so a
player sees one continuous timeline; the offset keeps B-frame decode times non-negative.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.stream
import numpy as np

from pigweight.domain import Image
from pigweight.errors import InvalidVideo
from pigweight.media.open_files import OpenFiles
from pigweight.media.probe import VideoInfo, open_video, slices_in

logger = logging.getLogger(__name__)

PTS_OFFSET_S = 1.0  # segment timestamps are t + PTS_OFFSET_S (90 kHz MPEG-TS clock)
_TS_TIME_BASE = Fraction(1, 90000)
_EPS_S = 1e-6


@dataclass(frozen=True, slots=True)
class Segment:
    """One HLS segment: [start_s, end_s) in relative time t."""

    index: int
    start_s: float  # t of its first keyframe (0.0 for the first segment)
    end_s: float  # t of the next segment's first keyframe, or the duration

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def plan_segments(
    keyframes: Sequence[float],
    duration_s: float,
    target_s: float = 5.0,
    min_s: float = 4.0,
    max_s: float = 6.0,
) -> list[Segment]:
    """Cut [0, duration_s) at keyframes into segments of about target_s.

    Among the keyframes that give a length in [min_s, max_s] the one nearest target_s wins
    (the longer on a tie); when none does, the first keyframe past min_s (a file with a
    keyframe every 10 s has 10 s segments). The first segment starts at 0 so that leading
    packets before the first keyframe still belong somewhere.
    """
    if duration_s <= 0:
        return []
    keys = sorted(k for k in keyframes if _EPS_S < k < duration_s - _EPS_S)
    bounds = [0.0]
    while duration_s - bounds[-1] > max_s + _EPS_S:
        start = bounds[-1]
        lo = bisect.bisect_left(keys, start + min_s - _EPS_S)
        hi = bisect.bisect_right(keys, start + max_s + _EPS_S)
        if lo < hi:
            nearest = min(keys[lo:hi], key=lambda k: (abs(k - start - target_s), -k))
            bounds.append(nearest)
        elif lo < len(keys):
            bounds.append(keys[lo])
        else:
            break  # no keyframe left: the rest is one segment
    bounds.append(duration_s)
    return [Segment(i, a, b) for i, (a, b) in enumerate(itertools.pairwise(bounds))]


def playlist(segments: Sequence[Segment], uri: Callable[[int], str]) -> str:
    """VOD m3u8 text; `uri(index)` names each segment (relative to the playlist)."""
    target = max((math.ceil(s.duration_s - 1e-3) for s in segments), default=1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(1, target)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for segment in segments:
        lines.append(f"#EXTINF:{segment.duration_s:.6f},")
        lines.append(uri(segment.index))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def remux_segment(
    path: Path, info: VideoInfo, segment: Segment, out: Path, files: OpenFiles | None = None
) -> None:
    """Write `segment` of `path` as MPEG-TS to `out` (atomically: temp file + rename).

    H.264 is copied packet for packet; other codecs (H.265, ...) and H.264 that browsers
    cannot decode (4:2:2, 10-bit) are re-encoded with libx264.
    """
    out = Path(out)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        source = _source(path, info, segment.start_s, files, full_header=True)
        with source as src, av.open(str(tmp), mode="w", format="mpegts") as dst:
            stream = src.streams.video[0]
            if info.browser_playable:
                _copy_packets(src, stream, info, segment, dst)
            else:
                _transcode(src, stream, info, segment, dst)
        os.replace(tmp, out)
    except av.FFmpegError as exc:
        raise InvalidVideo(
            f"{path.name}: segment {segment.index} cannot be written ({exc})"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def frame_at(
    path: Path, info: VideoInfo, t: float, files: OpenFiles | None = None
) -> tuple[float, Image]:
    """The frame shown at t (the last one whose t <= requested t) as RGB and its own t.

    t outside [0, duration_s] raises InvalidVideo rather than being clamped: the caller
    asked for a moment the recording does not have. A t up to 1 ms (a quarter frame at
    most) before a frame's own t counts as that frame, so times rounded to the millisecond
    find their frame. Seeks to the keyframe at or before t and decodes forward
    (slice- or frame-threaded), so the cost is at most one keyframe interval of decoding.
    """
    if not (math.isfinite(t) and -_EPS_S <= t <= info.duration_s + _EPS_S):
        raise InvalidVideo(
            f"{path.name}: t={t} s is outside the recording (0 to {info.duration_s:.3f} s)"
        )
    tolerance = min(1e-3, 0.25 / info.fps)
    k = max(0, bisect.bisect_right(info.keyframes, t + tolerance) - 1)
    for skip_nonref in (True, False):
        key_t = info.keyframes[k]
        with _source(path, info, key_t, files, full_header=False) as src:
            stream = src.streams.video[0]
            found, sure = _decode_until(src, stream, info, key_t, t + tolerance, skip_nonref)
        if sure:
            break
    if found is None:
        raise InvalidVideo(f"{path.name}: no frame can be decoded at t={t:.3f} s")
    frame_t, frame = found
    return frame_t, np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def _source(
    path: Path, info: VideoInfo, start_s: float, files: OpenFiles | None, full_header: bool
) -> contextlib.AbstractContextManager[av.container.InputContainer]:
    """A container to read from start_s: a kept one where it will seek anyway, else new.

    Reading from the very start does not seek (MPEG-TS seeks by decode time and can land
    past the first keyframe), so only a freshly opened container is positioned for it.
    """
    if files is None or start_s <= 0.5 / info.fps:
        return open_video(path, full_header=full_header)
    return files.borrow(path, full_header=full_header)


def _decode_until(
    src: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    key_t: float,
    t: float,
    skip_nonref: bool,
) -> tuple[tuple[float, av.VideoFrame] | None, bool]:
    """Decode from the keyframe at key_t to the last frame with t <= `t`; and whether sure.

    With `skip_nonref`, frames no other frame refers to (most B-frames) are not decoded
    while a later frame is expected before t: they cannot be the answer. Not sure means the
    answer may have been skipped after all (variable frame rate): search again without.
    Before the first keyframe nothing decodes: the first decodable frame is returned then.
    """
    tb = stream.time_base or _TS_TIME_BASE
    codec = stream.codec_context
    frame_s = 1.0 / info.fps
    best: tuple[float, av.VideoFrame] | None = None
    skipped_t = -math.inf  # latest t of a packet fed while non-reference frames were skipped
    # [t, t + duration) of every packet fed, while all sit on the frame-rate grid and last
    # one frame: once they cover [key_t, t], the decoder holds every frame up to t and is
    # drained instead of fed the packets its threads and B-frame reordering would need.
    # (A variable frame rate leaves the grid; MP4 durations follow decode order, not
    # presentation, so they only say how long a frame is shown at a constant rate.)
    fed: list[tuple[float, float]] | None = []
    codec.skip_frame = "DEFAULT"  # a kept decoder keeps what the last search set

    def take(frames: Sequence[av.VideoFrame]) -> bool:
        nonlocal best
        for frame in frames:
            if frame.pts is None:
                continue
            frame_t = float(frame.pts * tb) - info.start_s
            if frame_t > t and best is not None:
                return True
            best = (frame_t, frame)
        return False

    try:
        for packet_t, packet in _with_flush(_packets_from(src, stream, info, key_t)):
            if packet is not None:
                if not codec.is_open:  # a kept file's decoder is set up already
                    stream.thread_type = "SLICE" if slices_in(packet, stream) > 1 else "AUTO"
                duration = float(packet.duration * tb) if packet.duration else None
                if skip_nonref:
                    skip = packet_t + (duration or frame_s) <= t
                    codec.skip_frame = "NONREF" if skip else "DEFAULT"
                    if skip:
                        skipped_t = max(skipped_t, packet_t)
                if fed is not None:
                    fed = _on_grid(fed, packet_t, duration, key_t, frame_s)
            if take(codec.decode(packet)):
                break
            if packet is not None and fed is not None and _covers(fed, key_t, t, frame_s / 2):
                take(codec.decode(None))
                codec.flush_buffers()  # out of draining, for the next seek of a kept file
                break
    except av.FFmpegError as exc:
        if best is None:
            raise InvalidVideo(f"{info.path.name}: the video cannot be decoded ({exc})") from None
    if skipped_t == -math.inf:
        return best, True
    return best, best is not None and skipped_t <= best[0] + _EPS_S <= t + _EPS_S


def _on_grid(
    fed: list[tuple[float, float]],
    packet_t: float,
    duration: float | None,
    key_t: float,
    frame_s: float,
) -> list[tuple[float, float]] | None:
    """`fed` with this packet's span, or None once a packet is off the constant-rate grid."""
    slots = (packet_t - key_t) / frame_s
    if duration is None or abs(duration - frame_s) > 0.01 * frame_s:
        return None
    if abs(slots - round(slots)) > 0.01:
        return None
    return [*fed, (packet_t, packet_t + duration)]


def _covers(spans: Sequence[tuple[float, float]], start: float, t: float, slack: float) -> bool:
    """Whether the [begin, end) spans leave no gap (over `slack`) from `start` past t."""
    reach = start
    for begin, end in sorted(spans):
        if begin > reach + slack:
            return False
        reach = max(reach, end)
        if reach > t:
            return True
    return False


def _seek(
    src: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    t: float,
) -> None:
    """Seek to the last keyframe at or before t (a quarter frame of slack for rounded t)."""
    tb = stream.time_base or _TS_TIME_BASE
    pts = round((t + info.start_s + 0.25 / info.fps) / tb)
    src.seek(pts, backward=True, any_frame=False, stream=stream)


def _packets_from(
    src: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    start_s: float,
) -> Iterator[tuple[float, av.Packet]]:
    """(t, packet) in decode order from the keyframe at start_s to the end of the file.

    Seeks (no reading from the start); when the seek lands after that keyframe (MPEG-TS
    seeks by decode time, which B-frames put before the keyframe's presentation time) it
    seeks again earlier. A read error ends the file there.
    """
    tb = stream.time_base or _TS_TIME_BASE
    half = 0.5 / info.fps
    margin = 0.0
    while True:
        from_start = start_s <= half
        if not from_start:
            _seek(src, stream, info, max(0.0, start_s - margin))
        started = from_start
        try:
            for packet in src.demux(stream):
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None or packet.size == 0:
                    continue
                t = float(ts * tb) - info.start_s
                if not started:
                    if not packet.is_keyframe or t < start_s - half:
                        continue
                    if t > start_s + half:
                        break  # overshot: seek again, earlier
                    started = True
                yield t, packet
        except av.FFmpegError as exc:  # a truncated file: the segment ends where it does
            logger.warning("%s: read stopped at %.3f s: %s", info.path.name, start_s, exc)
            return
        if started:
            return
        if margin > start_s:
            raise InvalidVideo(
                f"{info.path.name}: no keyframe at {start_s:.3f} s; probe the file again"
            )
        margin = max(1.0, margin * 2)


def _shift(ts: int | None, tb: Fraction, info: VideoInfo) -> int | None:
    if ts is None:
        return None
    return ts + round((PTS_OFFSET_S - info.start_s) / tb)


def _copy_packets(
    src: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    segment: Segment,
    dst: av.container.OutputContainer,
) -> None:
    out_stream = dst.add_stream_from_template(stream)
    tb = stream.time_base or _TS_TIME_BASE
    half = 0.5 / info.fps
    for index, (t, packet) in enumerate(_packets_from(src, stream, info, segment.start_s)):
        if index > 0 and packet.is_keyframe and t >= segment.end_s - half:
            break
        packet.pts = _shift(packet.pts, tb, info)
        packet.dts = _shift(packet.dts, tb, info)
        packet.stream = out_stream
        dst.mux(packet)


def _transcode(
    src: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    segment: Segment,
    dst: av.container.OutputContainer,
) -> None:
    """Decode the segment's frames (t in [start, end)) and encode them as H.264."""
    if "libx264" not in av.codecs_available:
        raise InvalidVideo(
            f"{info.path.name}: {info.codec} video is not playable in browsers and this "
            "server has no H.264 encoder to convert it"
        )
    out_stream = dst.add_stream("libx264", rate=Fraction(info.fps).limit_denominator(1001))
    out_stream.width = info.width - info.width % 2
    out_stream.height = info.height - info.height % 2
    out_stream.pix_fmt = "yuv420p"
    out_stream.time_base = _TS_TIME_BASE
    out_stream.codec_context.time_base = _TS_TIME_BASE
    out_stream.options = {"preset": "ultrafast", "crf": "20"}
    stream.thread_type = "AUTO"
    for t, frame in _segment_frames(src, stream, info, segment):
        image = frame.reformat(width=out_stream.width, height=out_stream.height, format="yuv420p")
        image.pts = round((t + PTS_OFFSET_S) / _TS_TIME_BASE)
        image.time_base = _TS_TIME_BASE
        dst.mux(out_stream.encode(image))
    dst.mux(out_stream.encode(None))


def _segment_frames(
    src: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    info: VideoInfo,
    segment: Segment,
) -> Iterator[tuple[float, av.VideoFrame]]:
    """(t, frame) for the frames shown in [start_s, end_s), decoded from its first keyframe.

    Decoding runs past the next keyframe when needed: in an open GOP, pictures that follow
    it in decode order but are shown before it belong to this segment.
    """
    tb = stream.time_base or _TS_TIME_BASE
    half = 0.5 / info.fps
    lower = -math.inf if segment.index == 0 else segment.start_s - half
    codec = stream.codec_context
    for _, packet in _with_flush(_packets_from(src, stream, info, segment.start_s)):
        for frame in codec.decode(packet):
            if frame.pts is None:
                continue
            t = float(frame.pts * tb) - info.start_s
            if t >= segment.end_s - half:
                return
            if t >= lower:
                yield t, frame


def _with_flush(
    packets: Iterator[tuple[float, av.Packet]],
) -> Iterator[tuple[float, av.Packet | None]]:
    yield from packets
    yield math.inf, None  # drains the decoder at the end of the file
