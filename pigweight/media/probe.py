"""What a video file holds (container, codec, size, rate, duration, keyframes), by demuxing only.

Every archive file is opened here, with the demuxer chosen from the file's own first bytes and
only the `file` protocol allowed: an `.m3u8` playlist or an ffconcat list renamed `.mp4` is
refused before FFmpeg could follow it to other files or URLs.

A complete MP4 is probed from its index (the `moov` box) without reading the media, so a
10 GB recording registers in milliseconds; every other file, and an MP4 whose index points
past the end of the file, is demuxed packet by packet (no decoding) as far as it is readable.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video.stream

from pigweight.errors import InvalidVideo

logger = logging.getLogger(__name__)

# Local files only: nothing a file says may make FFmpeg open a URL or another file.
FILE_OPTIONS = {"protocol_whitelist": "file"}
# Names of the recordings looked for in folders; what is inside decides (detect_format).
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".ts", ".m4v", ".webm"})

_CONTAINERS = {"mov": "mp4", "matroska": "matroska", "mpegts": "mpegts", "avi": "avi"}
_MP4_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"})
_SNIFF_BYTES = 4096
_BROWSER_PIX_FMTS = frozenset({"yuv420p", "yuvj420p"})
# A header duration this much longer than what can be read means the file was cut short.
_TRUNCATION_MARGIN_S = 1.0


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """Stream facts of one file; times are relative: t = pts_s - start_s."""

    path: Path
    size_bytes: int
    container: str  # "mp4" | "matroska" | "mpegts" | "avi"
    codec: str  # FFmpeg codec name of the video stream: "h264", "hevc", ...
    width: int
    height: int
    fps: float  # average frame rate
    duration_s: float  # from the first video packet to the end of the last readable one
    start_s: float  # pts of the first video packet, seconds
    frames: int  # video packets read
    keyframes: tuple[float, ...]  # t of every keyframe packet, ascending
    truncated: bool  # the file ends before its own header says it should
    browser_playable: bool  # H.264 8-bit 4:2:0: HLS without re-encoding


def detect_format(path: Path) -> str:
    """The FFmpeg demuxer to force for `path`, from its first bytes; InvalidVideo otherwise."""
    path = Path(path)
    head = _read_head(path)
    name = path.name
    if head[4:8] in _MP4_BOXES:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if _is_mpegts(head):
        return "mpegts"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    raise InvalidVideo(f"{name}: {_describe_other(head)}")


def open_video(path: Path, *, full_header: bool = True) -> av.container.InputContainer:
    """Open `path` for reading with its demuxer forced and only local files allowed.

    While opening, FFmpeg decodes a first frame to learn the pixel format (12 ms at 1080p);
    `full_header=False` skips that for callers that decode or copy anyway (the stream's
    `pix_fmt` and, for Matroska, `start_time` then stay unknown).
    """
    path = Path(path)
    fmt = detect_format(path)
    options = FILE_OPTIONS if full_header else {**FILE_OPTIONS, "skip_frame": "all"}
    try:
        container = av.open(f"file:{path}", mode="r", format=fmt, options=options)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidVideo(_open_failure(path, fmt, exc)) from None
    if not container.streams.video:
        container.close()
        raise InvalidVideo(f"{path.name}: the file has no video stream (audio or data only)")
    return container


def probe_video(path: Path) -> VideoInfo:
    """Stream facts and the keyframe index of `path`, by demuxing only (no decoding)."""
    path = Path(path)
    fmt = detect_format(path)
    with open_video(path) as container:
        stream = container.streams.video[0]
        size = path.stat().st_size
        codec = _codec_name(path, stream)
        header_s = header_duration_s(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        pix_fmt = stream.codec_context.pix_fmt or ""
        rate = frame_rate(stream)
        index_past_end = fmt == "mov" and _mp4_data_end(stream) > size
        scan = None
        if fmt == "mov" and not index_past_end:
            scan = _scan_mp4_index(container, stream)
        elif fmt != "mov":
            scan = _scan_packets(container, stream)
    if scan is None:  # an MP4 whose index cannot be trusted: read it from the start
        with open_video(path) as container:
            scan = _scan_packets(container, container.streams.video[0])
        scan.truncated |= index_past_end
    if scan.frames == 0:
        raise InvalidVideo(f"{path.name}: the video stream holds no readable frame")
    if not scan.keyframes:
        raise InvalidVideo(f"{path.name}: the video has no keyframe, nothing can be decoded")
    truncated = scan.truncated or _cut_short(fmt, size, header_s, scan.duration_s)
    fps = rate or (scan.frames / scan.duration_s if scan.duration_s > 0 else 25.0)
    info = VideoInfo(
        path=path,
        size_bytes=size,
        container=_CONTAINERS[fmt],
        codec=codec,
        width=width,
        height=height,
        fps=fps,
        duration_s=scan.duration_s,
        start_s=scan.start_s,
        frames=scan.frames,
        keyframes=tuple(scan.keyframes),
        truncated=truncated,
        browser_playable=codec == "h264" and pix_fmt in _BROWSER_PIX_FMTS,
    )
    logger.info(
        "probed %s: %s %s %dx%d %.3f fps %.3f s %d frames %d keyframes%s",
        path.name,
        info.container,
        info.codec,
        info.width,
        info.height,
        info.fps,
        info.duration_s,
        info.frames,
        len(info.keyframes),
        " (truncated)" if truncated else "",
    )
    return info


@dataclass(slots=True)
class _Scan:
    start_s: float
    duration_s: float
    frames: int
    keyframes: list[float]
    truncated: bool


def _scan_packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> _Scan:
    """Demux every video packet; a read error ends the scan and marks the file truncated."""
    tb = stream.time_base or Fraction(1, 90000)
    start: int | None = None
    end: int | None = None
    frames = 0
    keys: list[int] = []
    truncated = False
    last_duration = 0
    try:
        for packet in container.demux(stream):
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None or packet.size == 0:
                continue  # the flush packet at the end, or a packet that has no time
            frames += 1
            if start is None:
                start = ts
            last_duration = packet.duration or last_duration
            end = max(end or ts, ts + (packet.duration or last_duration))
            if packet.is_keyframe:
                keys.append(ts)
            if packet.is_corrupt:
                truncated = True  # a partial packet: the file ends inside it
    except av.FFmpegError as exc:
        logger.warning("%s: stopped reading after %d frames: %s", container.name, frames, exc)
        truncated = True
    if start is None or end is None:
        return _Scan(0.0, 0.0, 0, [], truncated)
    return _Scan(
        start_s=float(start * tb),
        duration_s=float((end - start) * tb),
        frames=frames,
        keyframes=sorted(float((k - start) * tb) for k in keys if k >= start),
        truncated=truncated,
    )


def _scan_mp4_index(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> _Scan | None:
    """Frames and keyframes from a complete MP4's sample table; None when it cannot be trusted.

    The index holds decode times; a keyframe's presentation time is its decode time plus the
    stream's reordering delay, read from the first packet and checked on the last keyframe.
    """
    entries = stream.index_entries
    tb = stream.time_base
    if tb is None or stream.duration is None or len(entries) == 0 or len(entries) != stream.frames:
        return None  # fragmented MP4 or no sample table: demux instead
    first = next((p for p in container.demux(stream) if p.size), None)
    if first is None or first.pts is None or first.dts is None or not first.is_keyframe:
        return None
    start = first.pts
    delay = start - first.dts
    keys: list[int] = []
    frames = 0
    for entry in entries:
        if entry.is_discard:
            continue  # cut by the edit list: never shown
        frames += 1
        if entry.is_keyframe:
            keys.append(entry.timestamp + delay)
    if not keys or not _pts_at_keyframe(container, stream, keys[-1]):
        return None
    return _Scan(
        start_s=float(start * tb),
        duration_s=float(stream.duration * tb),
        frames=frames,
        keyframes=[float((k - start) * tb) for k in keys if k >= start],
        truncated=False,
    )


def _mp4_data_end(stream: av.video.stream.VideoStream) -> int:
    """Where the last video sample the MP4 index lists ends: past the file end means cut."""
    return max((e.pos + e.size for e in stream.index_entries), default=0)


def _pts_at_keyframe(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, pts: int
) -> bool:
    container.seek(pts, backward=True, stream=stream)
    packet = next((p for p in container.demux(stream) if p.size), None)
    return packet is not None and packet.is_keyframe and packet.pts == pts


def header_duration_s(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _cut_short(fmt: str, size: int, header_s: float | None, readable_s: float) -> bool:
    if fmt == "mpegts":
        # TS has no duration header (FFmpeg estimates it from the packets read), but a file
        # cut at a random byte almost never ends on a packet boundary.
        return size % 188 != 0 and size % 192 != 0
    return header_s is not None and header_s - readable_s > _TRUNCATION_MARGIN_S


def _codec_name(path: Path, stream: av.video.stream.VideoStream) -> str:
    try:
        return stream.codec_context.name
    except (av.FFmpegError, AttributeError):
        raise InvalidVideo(f"{path.name}: the video codec is not supported") from None


def frame_rate(stream: av.video.stream.VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate and math.isfinite(float(rate)) and rate > 0 else None


def _read_head(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise InvalidVideo(f"{path.name}: no such file")
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InvalidVideo(f"{path.name}: the file cannot be read ({exc.strerror})") from None
    if not head:
        raise InvalidVideo(f"{path.name}: the file is empty (0 bytes)")
    return head


def _is_mpegts(head: bytes) -> bool:
    for packet, offset in ((188, 0), (192, 4)):
        if len(head) > offset + 2 * packet and all(
            head[offset + packet * i] == 0x47 for i in range(3)
        ):
            return True
    return False


def _describe_other(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"#EXTM3U"):
        return (
            "an HLS playlist (.m3u8) that refers to other files, not a video; "
            "add the recording itself"
        )
    if text.startswith(b"ffconcat version"):
        return "an ffconcat list that refers to other files, not a video; add the recordings"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "a WAV audio file, it has no video stream"
    if head.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01")):
        return (
            "a raw H.264/H.265 stream without a container (no timestamps); "
            "wrap it first: ffmpeg -i IN -c copy OUT.mp4"
        )
    if _looks_like_text(head):
        return "a text file, not a video; PigWeight reads MP4/MOV, MKV, MPEG-TS and AVI"
    return "not a video file PigWeight can read; expected MP4/MOV, MKV, MPEG-TS or AVI"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def _open_failure(path: Path, fmt: str, exc: Exception) -> str:
    if fmt == "mov" and not _mp4_has_index(path):
        return (
            f"{path.name}: the MP4 has no index ('moov' box): the recording was cut before "
            "it was finalised; export it again from the recorder"
        )
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return f"{path.name}: not a readable {_CONTAINERS[fmt]} file ({reason})"


def _mp4_has_index(path: Path) -> bool:
    """Walk the top-level MP4 boxes (headers only) looking for `moov` or fragments (`moof`)."""
    size = path.stat().st_size
    pos = 0
    with path.open("rb") as f:
        while pos + 8 <= size:
            f.seek(pos)
            header = f.read(16)
            box_size = int.from_bytes(header[0:4], "big")
            kind = header[4:8]
            if kind in (b"moov", b"moof"):
                return True
            if box_size == 1 and len(header) == 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                return False  # the last box runs to the end of the file
            if box_size < 8:
                return False
            pos += box_size
    return False


def slices_in(packet: av.Packet, stream: av.video.stream.VideoStream) -> int:
    """How many slices the H.264/H.265 frame in `packet` is cut into (1 for other codecs).

    A recorder that cuts every frame into slices lets the decoder share one frame among
    threads with no delay; with one slice a frame, frame threads are the way to use several
    cores (they hold a frame back per thread, which costs a seek more than it saves).
    """
    name = stream.codec_context.name
    if name not in ("h264", "hevc"):
        return 1
    data = bytes(packet)
    extradata = stream.codec_context.extradata or b""
    if extradata[:1] == b"\x01":  # avcC / hvcC: NAL units prefixed with their length
        at = 4 if name == "h264" else 21
        size = (extradata[at] & 3) + 1 if len(extradata) > at else 4
        headers = []
        pos = 0
        while pos + size < len(data):
            length = int.from_bytes(data[pos : pos + size], "big")
            headers.append(data[pos + size])
            pos += size + length
    else:  # Annex B: NAL units after 00 00 01 start codes
        headers = []
        pos = data.find(b"\x00\x00\x01")
        while 0 <= pos < len(data) - 3:
            headers.append(data[pos + 3])
            pos = data.find(b"\x00\x00\x01", pos + 3)
    if name == "h264":
        vcl = [h for h in headers if 1 <= (h & 0x1F) <= 5]
    else:
        vcl = [h for h in headers if (h >> 1) & 0x3F < 32]
    return max(1, len(vcl))
