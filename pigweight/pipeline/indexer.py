"""VideoIndexer: counts archive files in the background, one sample every `interval_s`.

Jobs live in the database (`video_files.index_state`, `indexed_until_s`), not in memory:
every batch commits its samples and the new `indexed_until_s` in one transaction, so a
kill loses at most one batch and a restart resumes where the file was left. One worker
thread owns the decoders; `count_at` runs in the caller's thread and only reads, or
computes one sample on demand (seek + one inference) where the index has none yet.

Sampling: when every keyframe gap fits in `interval_s`, the samples are keyframes and only
keyframes are decoded; otherwise the sample for time T is the first frame at or after T,
decoded in one forward pass that drops the packets no sample needs (the rest of a keyframe
interval after its last sample).
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image as PILImage
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from pigweight.domain import Detections, Image
from pigweight.durable import replace_file
from pigweight.errors import PigWeightError
from pigweight.media import hls
from pigweight.media.images import encode_jpeg
from pigweight.media.open_files import OpenFiles
from pigweight.media.probe import VideoInfo, open_video
from pigweight.pipeline.archive_zone import zoned
from pigweight.pipeline.sample_cache import SampleCache
from pigweight.store import videos as repo
from pigweight.store.videos import SampleRow, VideoRow
from pigweight.vision.overlay import mask_outlines
from pigweight.vision.segmenter import Segmenter
from pigweight.vision.zone import Zone

logger = logging.getLogger(__name__)

_EPS_S = 1e-3  # sample times are stored rounded to the millisecond
_SEEK_AHEAD_S = 30.0  # a jump further ahead than this seeks instead of demuxing through
_FOCUS_SPAN_S = 60.0  # after focus(t), [t, t + this) is indexed before anything else
_OUTLINE_POINTS = 32
_PENDING = ("queued", "indexing")

# Timeline previews: one 160 px tile per 10 s, 10 x 10 tiles per JPEG sprite sheet.
THUMB_EVERY_S = 10.0
THUMB_WIDTH = 160
SPRITE_SIDE = 10

ProgressCallback = Callable[[int, int], None]


def plan_samples(info: VideoInfo, interval_s: float) -> tuple[list[float], bool]:
    """The sample times of a file and whether they are all keyframes.

    Keyframes serve when no gap between them (or after the last) exceeds `interval_s` by
    more than half a frame; among them, one is kept only where skipping it would leave a gap
    longer than `interval_s`. Otherwise the times are 0, interval_s, 2 * interval_s, ...
    """
    half_frame = 0.5 / info.fps if info.fps > 0 else 0.02
    keys = list(info.keyframes)
    ends = [*keys[1:], info.duration_s]
    if (
        keys
        and keys[0] <= half_frame
        and all(b - a <= interval_s + half_frame for a, b in zip(keys, ends, strict=True))
    ):
        chosen = [keys[0]]
        for k, nxt in zip(keys[1:], ends[1:], strict=True):
            if nxt - chosen[-1] > interval_s + half_frame:
                chosen.append(k)
        return chosen, True
    last_frame = info.duration_s - (1.0 / info.fps if info.fps > 0 else 0.0)
    n = int(max(last_frame, 0.0) / interval_s + 1e-9) + 1
    return [round(i * interval_s, 3) for i in range(n)], False


@dataclass(slots=True)
class Decoded:
    """One decoded frame and the requested times it answers (it is the first at or after)."""

    first: int  # index into the requested times
    last: int  # inclusive
    t: float
    image: Image


# Frames are counted at most this size on their longest side (the INDEX_MAX_SIDE_PX
# setting; this is its default): the classic segmenter's working size (it would shrink a
# 1080p frame to it anyway, then build every animal's mask back at 1080p). Outlines are
# stored in 0-1 of the frame, so nothing else changes. On synthetic 1080p frames the counts
# stayed the same (MAE 0.80 vs 0.87 at full size) and a sample took 189 instead of 224 ms.
INDEX_MAX_SIDE_PX = 1280


def _fit(width: int, height: int, max_side_px: int | None) -> tuple[int, int] | None:
    """(w, h) scaled to fit max_side_px, even; None when the frame already fits."""
    longest = max(width, height)
    if max_side_px is None or longest <= max_side_px or longest <= 0:
        return None
    scale = max_side_px / longest
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class FrameReader:
    """The first frame at or after each requested time, decoding forward in one pass."""

    def __init__(
        self, info: VideoInfo, keyframes_only: bool, max_side_px: int | None = INDEX_MAX_SIDE_PX
    ) -> None:
        self._info = info
        self._size = _fit(info.width, info.height, max_side_px)
        self._keys = list(info.keyframes)
        self._keyframes_only = keyframes_only
        self._period = 1.0 / info.fps if info.fps > 0 else 0.04
        self._container = open_video(info.path)
        self._stream = self._container.streams.video[0]
        self._tb = float(self._stream.time_base or 1 / 90000)
        self._packets: Iterator[av.Packet] | None = None
        self._held: av.Packet | None = None  # read while seeking, not yet decoded
        self._frames: deque[tuple[float, av.VideoFrame]] = deque()
        self._last_t = -1.0  # t of the last frame handed out or passed over
        self._gop_t = -1.0  # t of the keyframe packet most recently fed to the decoder
        self._skip_to: float | None = None  # drop packets until the keyframe at this t
        self._eof = False
        self._setup()

    def close(self) -> None:
        self._container.close()

    def read(self, times: Sequence[float]) -> tuple[list[Decoded], bool]:
        """Frames for ascending `times`; True as well when the file ended before the last."""
        if not times:
            return [], False
        start_key = self._key_before(times[0])
        if self._packets is None or times[0] < self._last_t - _EPS_S:
            self._seek(start_key)
        elif start_key > self._gop_t + _EPS_S:
            if start_key - max(self._last_t, 0.0) > _SEEK_AHEAD_S:
                self._seek(start_key)
            else:
                self._skip_to = start_key
        out: list[Decoded] = []
        i = 0
        for t, frame in self._decoded():
            self._last_t = t
            if t + _EPS_S < times[i]:
                continue
            first = i
            while i < len(times) and t + _EPS_S >= times[i]:
                i += 1
            if self._size is None:
                image = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            else:  # scaled while converting: one pass in swscale instead of two
                width, height = self._size
                image = np.asarray(
                    frame.to_ndarray(
                        format="rgb24", width=width, height=height, interpolation="AREA"
                    ),
                    dtype=np.uint8,
                )
            out.append(Decoded(first, i - 1, round(t, 3), image))
            if i == len(times):
                return out, False
            key = self._key_before(times[i])
            if key > self._gop_t + _EPS_S:
                self._skip_to = key  # the rest of this keyframe interval is not needed
        return out, True

    def _setup(self) -> None:
        if self._keyframes_only:
            self._stream.codec_context.skip_frame = "NONKEY"
        # Frame threads hold frames back (one per thread) and so decode packets past the
        # last sample of a keyframe interval; slice threads measured 10-50 % faster here.
        self._stream.thread_type = "SLICE"

    def _key_before(self, t: float) -> float:
        k = bisect.bisect_right(self._keys, t + _EPS_S) - 1
        return self._keys[k] if k >= 0 else 0.0

    def _seek(self, key_t: float) -> None:
        """Position the demuxer on a keyframe at or before key_t.

        Some demuxers (MPEG-TS, a cut file) land after the asked time: then try the keyframe
        before, and at the first one, read the file from its first byte.
        """
        k = bisect.bisect_right(self._keys, key_t + _EPS_S) - 1
        back = 1
        while True:
            if k <= 0:
                self._container.close()
                self._container = open_video(self._info.path)
                self._stream = self._container.streams.video[0]
                self._setup()
                self._packets = self._container.demux(self._stream)
                self._held = None
                break
            pts = round((self._keys[k] + self._info.start_s) / self._tb)
            self._container.seek(pts, backward=True, any_frame=False, stream=self._stream)
            self._packets = self._container.demux(self._stream)
            self._held = self._first_keyframe_packet()
            if self._held is None or self._packet_t(self._held) <= key_t + _EPS_S:
                break
            k, back = k - back, back * 2  # a few seeks at most, even for a 10 GB file
        self._frames.clear()
        self._last_t = self._gop_t = -1.0
        self._skip_to = key_t  # the decoder starts at the keyframe, not on a P-frame
        self._eof = False

    def _first_keyframe_packet(self) -> av.Packet | None:
        while (packet := self._next_packet()) is not None:
            if packet.size and packet.is_keyframe:
                return packet
        return None

    def _packet_t(self, packet: av.Packet) -> float:
        ts = packet.pts if packet.pts is not None else packet.dts
        return self._gop_t if ts is None else ts * self._tb - self._info.start_s

    def _decoded(self) -> Iterator[tuple[float, av.VideoFrame]]:
        """Decoded frames in presentation order; ends at the end of the readable file."""
        while True:
            while self._frames:
                yield self._frames.popleft()
            if self._eof or self._packets is None:
                return
            packet, self._held = self._held or self._next_packet(), None
            if packet is None:
                self._eof = True
                self._decode(None)
                continue
            if packet.size and not self._wanted(packet):
                continue
            self._decode(packet)

    def _next_packet(self) -> av.Packet | None:
        assert self._packets is not None
        try:
            return next(self._packets, None)
        except av.FFmpegError as exc:
            # A truncated recording: index what is readable, as the probe did.
            name, t = self._info.path.name, self._last_t
            logger.warning("%s: stopped reading at t=%.3f s: %s", name, t, exc)
            return None

    def _wanted(self, packet: av.Packet) -> bool:
        if not packet.is_keyframe:
            return self._skip_to is None and not self._keyframes_only
        t = self._packet_t(packet)
        if self._skip_to is not None:
            if t < self._skip_to - _EPS_S:
                return False
            self._skip_to = None
        self._gop_t = t
        return True

    def _decode(self, packet: av.Packet | None) -> None:
        try:
            frames = self._stream.decode(packet)
            if self._keyframes_only and packet is not None:
                # A decoder that reorders (B-frames) holds each frame until the next
                # packet; drain it so a keyframe comes out at once, then reopen it.
                frames += self._stream.decode(None)
                self._stream.codec_context.flush_buffers()
        except av.FFmpegError as exc:
            logger.debug("%s: undecodable packet: %s", self._info.path.name, exc)
            return
        for frame in frames:
            if frame.pts is None:
                t = self._last_t + self._period
            else:
                t = frame.pts * self._tb - self._info.start_s
            self._frames.append((t, frame))


class SpriteSheets:
    """Timeline thumbnails of one video: sprite_N.jpg sheets and thumbs.vtt that maps them.

    The sheet being filled stays in memory and is rewritten after each tile (~10 ms per
    10 s of video), so a kill loses at most the batch in hand's tile, and tiles are not
    re-encoded from a decoded JPEG again and again (only once, on resume).
    """

    def __init__(self, folder: Path, info: VideoInfo) -> None:
        self.folder = folder
        self.info = info
        aspect = info.height / info.width if info.width else 9 / 16
        self.tile_w = THUMB_WIDTH
        self.tile_h = max(2, round(THUMB_WIDTH * aspect / 2) * 2)
        self.tiles = max(1, int(info.duration_s // THUMB_EVERY_S) + 1)
        self._sheet_index = -1
        self._sheet: Image | None = None

    def sheet_path(self, n: int) -> Path:
        return self.folder / f"sprite_{n}.jpg"

    def write_vtt(self) -> None:
        """WebVTT cues for every tile, `sprite_N.jpg#xywh=x,y,w,h` (relative to the VTT)."""
        lines = ["WEBVTT", ""]
        per_sheet = SPRITE_SIDE * SPRITE_SIDE
        for tile in range(self.tiles):
            t0 = tile * THUMB_EVERY_S
            t1 = min(t0 + THUMB_EVERY_S, self.info.duration_s)
            if t1 <= t0:
                break
            n, cell = divmod(tile, per_sheet)
            y, x = divmod(cell, SPRITE_SIDE)
            lines += [
                f"{_vtt_time(t0)} --> {_vtt_time(t1)}",
                f"sprite_{n}.jpg#xywh={x * self.tile_w},{y * self.tile_h},"
                f"{self.tile_w},{self.tile_h}",
                "",
            ]
        self.folder.mkdir(parents=True, exist_ok=True)
        replace_file(self.folder / "thumbs.vtt", "\n".join(lines).encode())

    def add(self, t: float, image: Image) -> None:
        """Put the frame at t in its tile and rewrite that sheet."""
        tile = int(t // THUMB_EVERY_S + 1e-9)
        n, cell = divmod(tile, SPRITE_SIDE * SPRITE_SIDE)
        sheet = self._load(n)
        y, x = divmod(cell, SPRITE_SIDE)
        small = cv2.resize(image, (self.tile_w, self.tile_h), interpolation=cv2.INTER_AREA)
        sheet[y * self.tile_h : (y + 1) * self.tile_h, x * self.tile_w : (x + 1) * self.tile_w] = (
            small
        )
        replace_file(self.sheet_path(n), encode_jpeg(sheet, quality=80))

    def _load(self, n: int) -> Image:
        if self._sheet is not None and self._sheet_index == n:
            return self._sheet
        shape = (SPRITE_SIDE * self.tile_h, SPRITE_SIDE * self.tile_w, 3)
        sheet = np.full(shape, 32, np.uint8)
        path = self.sheet_path(n)
        if path.is_file():
            try:
                with PILImage.open(path) as old:
                    loaded = np.asarray(old.convert("RGB"), dtype=np.uint8)
                if loaded.shape == shape:
                    sheet = loaded.copy()
            except OSError:
                logger.warning("%s is unreadable; it is drawn again", path)
        self._sheet_index, self._sheet = n, sheet
        return sheet


def _vtt_time(t: float) -> str:
    ms = round(t * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _answer(t: float, sample: SampleRow) -> dict[str, Any]:
    return {
        "t": t,
        "count": sample.count,
        "confidence": sample.confidence,
        "sample_t": sample.t,
        "indexed": not sample.on_demand,
        "outside": sample.outside,
    }


def sample_row(t: float, detections: Detections, on_demand: bool = False) -> SampleRow:
    """What is stored of one counted frame: count, confidence and compact outlines."""
    outlines = [
        [[round(x, 3), round(y, 3)] for x, y in polygon]
        for polygon in mask_outlines(detections, max_points=_OUTLINE_POINTS)
    ]
    return SampleRow(
        t=round(t, 3),
        count=len(detections),
        confidence=round(detections.confidence, 4),
        outlines=json.dumps(outlines, separators=(",", ":")),
        on_demand=on_demand,
    )


class _Job:
    """The worker's view of one file: its sample times, which are done, its decoder."""

    def __init__(
        self, row: VideoRow, interval_s: float, done_times: Sequence[float], max_side_px: int
    ) -> None:
        self.row = row
        self.max_side_px = max_side_px
        self.times, self.keyframes_only = plan_samples(row.info, interval_s)
        self.done = bytearray(len(self.times))
        until = bisect.bisect_left(self.times, row.indexed_until_s - _EPS_S)
        self.done[:until] = b"\x01" * until
        for t in done_times:  # samples beyond the prefix: indexed first for a focus
            k = bisect.bisect_right(self.times, t + _EPS_S) - 1
            if k >= 0:
                self.done[k] = 1
        self.samples_done = sum(self.done)
        self.cursor = until
        self._advance()
        tiles = [int(t // THUMB_EVERY_S + 1e-9) for t in self.times]
        self.tile_starts = {k for k in range(len(tiles)) if k == 0 or tiles[k] != tiles[k - 1]}
        self.reader: FrameReader | None = None
        self.thumbs: SpriteSheets | None = None

    @property
    def complete(self) -> bool:
        return self.cursor >= len(self.times)

    @property
    def indexed_until_s(self) -> float:
        """Every sample time below this is done."""
        if self.complete:
            return self.row.info.duration_s
        return self.times[self.cursor]

    def next_batch(self, n: int, window: tuple[float, float] | None) -> list[int]:
        """Indices of up to n pending sample times: from the window if any, else the first."""
        if window is None:
            start, end = self.cursor, len(self.times)
        else:
            start = max(self.cursor, bisect.bisect_right(self.times, window[0] + _EPS_S) - 1)
            end = bisect.bisect_left(self.times, window[1])
        picked: list[int] = []
        for k in range(start, end):
            if not self.done[k]:
                picked.append(k)
                if len(picked) == n:
                    break
        return picked

    def mark_done(self, indices: Sequence[int]) -> None:
        for k in indices:
            if not self.done[k]:
                self.done[k] = 1
                self.samples_done += 1
        self._advance()

    def open_reader(self) -> FrameReader:
        if self.reader is None:
            self.reader = FrameReader(self.row.info, self.keyframes_only, self.max_side_px)
        return self.reader

    def close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _advance(self) -> None:
        while self.cursor < len(self.times) and self.done[self.cursor]:
            self.cursor += 1


@dataclass(slots=True)
class _Rate:
    samples_per_s: float = 0.0
    video_s_per_s: float = 0.0  # multiple of real time


class VideoIndexer:
    """Background indexing of archive files: a persisted job queue and one worker thread."""

    def __init__(
        self,
        engine: Engine,
        segmenter: Callable[[], Segmenter],
        interval_s: float = 1.0,
        batch: int = 4,
        thumbs_dir: Path | None = None,
        files: OpenFiles | None = None,
        max_side_px: int = INDEX_MAX_SIDE_PX,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.engine = engine
        self.interval_s = interval_s
        self.batch = max(1, batch)
        self.thumbs_dir = thumbs_dir
        self.files = files  # open files shared with the archive's frame reads (its owner)
        self.samples = SampleCache()  # what count_at answers from
        self.max_side_px = max_side_px  # frames are counted at most this size
        self._segmenter = segmenter
        self._cond = threading.Condition()
        self._queue: list[int] = []  # pending jobs, oldest first
        self._focus: tuple[int, float, float] | None = None  # video, [t0, t1)
        self._rates: dict[int, _Rate] = {}
        self._infos: dict[int, VideoInfo] = {}
        self._jobs: dict[int, _Job] = {}  # touched by the worker (or step()) only
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Queue the jobs the database holds as queued or indexing, and start the worker."""
        if self._thread is not None:
            return
        with self.engine.connect() as conn:
            pending = repo.list_videos(conn, states=_PENDING)
        with self._cond:
            self._stopping = False
            # Jobs a crash left half done first: they were the oldest in the queue.
            for row in sorted(pending, key=lambda r: (r.index_state != "indexing", r.id)):
                if row.id not in self._queue:
                    self._queue.append(row.id)
        if pending:
            logger.info("video indexer: %d jobs to resume or start", len(pending))
        self._thread = threading.Thread(target=self._run, name="video-indexer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the batch in hand (it commits), then stop and join the worker thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("video indexer did not stop within %.1f s", timeout_s)
            self._thread = None
        else:
            self._close_jobs()

    # --- jobs ----------------------------------------------------------------------------

    def enqueue(self, video_id: int) -> None:
        """Index this video (again after a cancel or an error: what is indexed stays)."""
        with self.engine.begin() as conn:
            row = repo.get_video(conn, video_id)
            if row is None:
                raise KeyError(f"no video {video_id}")
            if row.index_state == "done":
                return
            total = len(plan_samples(row.info, self.interval_s)[0])
            state = "indexing" if row.index_state == "indexing" else "queued"
            repo.set_index_state(conn, video_id, state, samples_total=total)
        with self._cond:
            if video_id not in self._queue:
                self._queue.append(video_id)
            self._cond.notify_all()

    def cancel(self, video_id: int) -> None:
        """Stop indexing this video after the batch in hand; its samples stay."""
        self._unqueue(video_id)
        with self.engine.begin() as conn:
            repo.set_index_state(conn, video_id, "cancelled", only_from=_PENDING)

    def focus(self, video_id: int, t: float) -> None:
        """Index around t first: the user is watching there (no effect once indexed)."""
        with self._cond:
            if video_id in self._queue:
                self._focus = (video_id, t, t + _FOCUS_SPAN_S)
                self._cond.notify_all()

    def pending(self) -> list[int]:
        """Videos still to index, in order."""
        with self._cond:
            return list(self._queue)

    def speeds(self) -> dict[int, tuple[float, float]]:
        """Measured speed of the unfinished jobs: video id -> (samples/s, video s per s)."""
        with self._cond:
            return {vid: (r.samples_per_s, r.video_s_per_s) for vid, r in self._rates.items()}

    # --- queries -------------------------------------------------------------------------

    def progress(self, video_id: int) -> dict[str, Any]:
        """{state, percent, eta_s, fps, samples_done, samples_total, error, indexed_until_s,
        speed_x}: fps is frames counted per second, speed_x the multiple of real time."""
        with self.engine.connect() as conn:
            row = repo.get_video(conn, video_id)
        if row is None:
            raise KeyError(f"no video {video_id}")
        with self._cond:
            rate = self._rates.get(video_id) if row.index_state in _PENDING else None
        done, total = row.samples_done, row.samples_total
        if row.index_state == "done":
            percent = 100.0
        else:
            percent = round(100.0 * done / total, 1) if total else 0.0
        eta = None
        if rate is not None and rate.samples_per_s > 0:
            eta = round(max(total - done, 0) / rate.samples_per_s, 1)
        return {
            "state": row.index_state,
            "percent": percent,
            "eta_s": eta,
            "fps": None if rate is None else round(rate.samples_per_s, 2),
            "speed_x": None if rate is None else round(rate.video_s_per_s, 1),
            "samples_done": done,
            "samples_total": total,
            "indexed_until_s": round(row.indexed_until_s, 3),
            "error": row.index_error,
        }

    def count_at(self, video_id: int, t: float, exact: bool = False) -> dict[str, Any]:
        """{t, count, confidence, sample_t, indexed} at t.

        From the latest stored sample at or before t when it is at most one interval (plus
        a frame) older, or (`exact`) when it is the very frame shown at t; `indexed` is
        False when that sample was computed for a query rather than by the index pass.
        Otherwise the frame shown at t is counted now, stored and returned with `indexed`
        False. Reads the database (the first time for a video, and
        where the in-memory samples have nothing near t).
        """
        info = self._info(video_id)
        if not self.samples.loaded(video_id):
            self.samples.begin_load(video_id)
            with self.engine.connect() as conn:  # the zone after begin_load: see drop()
                zone = self._zone(conn, video_id)
                stored = repo.sample_counts(conn, video_id, with_outlines=zone is not None)
            self.samples.finish_load(video_id, stored, zone)
        answer = self.count_at_cached(video_id, t, exact)
        if answer is not None:
            return answer
        with self.engine.connect() as conn:  # another node's indexer may have stored it
            zone = self._zone(conn, video_id)
            sample = repo.nearest_sample_at_or_before(
                conn, video_id, t + _EPS_S, with_outlines=zone is not None
            )
        if sample is None or t - sample.t > self._reach(info, exact):
            sample = self._sample_on_demand(video_id, info, t)
        return _answer(t, zoned(sample, zone))

    @staticmethod
    def _zone(conn: Connection, video_id: int) -> Zone | None:
        row = repo.get_video(conn, video_id)
        return None if row is None else Zone.of(row.zone)

    def count_at_cached(
        self, video_id: int, t: float, exact: bool = False
    ) -> dict[str, Any] | None:
        """count_at from memory only (no database, no decoding): None where that is not
        enough (the video's samples not loaded yet, or none near t). Cheap enough for the
        event loop."""
        with self._cond:
            info = self._infos.get(video_id)
        if info is None:
            return None
        loaded, sample = self.samples.at_or_before(video_id, t + _EPS_S)
        if not loaded or sample is None or t - sample.t > self._reach(info, exact):
            return None
        return _answer(t, sample)

    def _reach(self, info: VideoInfo, exact: bool = False) -> float:
        """How old a sample may be and still answer for t: one interval plus a frame, or
        (`exact`) less than a frame: the frame shown at t itself."""
        frame_s = 1.0 / info.fps if info.fps > 0 else 0.0
        if exact:
            return max(frame_s - _EPS_S, _EPS_S)
        return self.interval_s + frame_s + _EPS_S

    def _info(self, video_id: int) -> VideoInfo:
        with self._cond:
            info = self._infos.get(video_id)
        if info is None:
            with self.engine.connect() as conn:
                row = repo.get_video(conn, video_id)
            if row is None:
                raise KeyError(f"no video {video_id}")
            info = row.info
            with self._cond:
                self._infos[video_id] = info
        return info

    def _sample_on_demand(self, video_id: int, info: VideoInfo, t: float) -> SampleRow:
        frame_t, image = hls.frame_at(info.path, info, t, self.files)
        size = _fit(image.shape[1], image.shape[0], self.max_side_px)
        if size is not None:  # counted at the size the index pass counts at
            image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        sample = sample_row(frame_t, self._segmenter().segment(image), on_demand=True)
        try:
            with self.engine.begin() as conn:
                repo.add_samples(conn, video_id, [sample], replace=False)
        except IntegrityError:
            pass  # a concurrent query or the index pass stored this frame first
        self.samples.add(video_id, [sample], replace=False)
        return sample

    # --- the worker ----------------------------------------------------------------------

    def step(self) -> bool:
        """Run one batch in the calling thread; False when no job is pending.

        For the CLI and tests; never while the worker thread runs.
        """
        if self._thread is not None and threading.current_thread() is not self._thread:
            raise RuntimeError("VideoIndexer.step() while its worker thread runs")
        with self._cond:
            pick = self._pick()
        if pick is None:
            self._close_jobs()
            return False
        video_id, window = pick
        try:
            self._batch(video_id, window)
        except Exception as exc:
            job = self._jobs.pop(video_id, None)  # reloaded from the database if retried
            if job is not None:
                job.close_reader()
            # The top of the worker loop: one broken file or a model that will not load
            # must not stop the indexer; the job says why.
            if not isinstance(exc, PigWeightError):
                logger.exception("video %d: indexing failed", video_id)
            self._fail(video_id, str(exc) or type(exc).__name__)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and self._pick() is None:
                    # Nothing to do: a cancelled or finished job must not hold its file open.
                    self._close_jobs()
                    self._cond.wait()
                if self._stopping:
                    break
            try:
                self.step()
            except Exception:
                # Even marking a job failed failed (a locked or full disk): wait and retry.
                logger.exception("video indexer: a batch could not be recorded")
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=5.0)
        self._close_jobs()

    def _pick(self) -> tuple[int, tuple[float, float] | None] | None:
        if self._focus is not None:
            video_id, t0, t1 = self._focus
            if video_id in self._queue:
                return video_id, (t0, t1)
            self._focus = None
        return (self._queue[0], None) if self._queue else None

    def _job(self, video_id: int) -> _Job:
        for other in [k for k in self._jobs if k != video_id]:
            self._jobs[other].close_reader()  # one open decoder at a time
            with self._cond:
                if other not in self._queue:
                    del self._jobs[other]
        job = self._jobs.get(video_id)
        if job is None:
            with self.engine.connect() as conn:
                row = repo.get_video(conn, video_id)
                if row is None:
                    raise KeyError(f"video {video_id} is gone from the database")
                after = row.indexed_until_s - _EPS_S
                done_times = repo.index_sample_times(conn, video_id, after_s=after)
            job = _Job(row, self.interval_s, done_times, self.max_side_px)
            if self.thumbs_dir is not None:
                job.thumbs = SpriteSheets(self.thumbs_dir / str(video_id), row.info)
                job.thumbs.write_vtt()
            self._jobs[video_id] = job
        return job

    def _batch(self, video_id: int, window: tuple[float, float] | None) -> None:
        job = self._job(video_id)
        picked = job.next_batch(self.batch, window)
        if not picked:
            if window is None:
                self._finish(job)
            else:
                with self._cond:
                    if self._focus == (video_id, *window):
                        self._focus = None
            return
        segmenter = self._segmenter()
        started = time.perf_counter()
        decoded, ended = job.open_reader().read([job.times[k] for k in picked])
        detections = segmenter.segment_batch([d.image for d in decoded]) if decoded else []
        rows = [sample_row(d.t, det) for d, det in zip(decoded, detections, strict=True)]
        # Times the file ended before have no frame: they are done, with no sample.
        covered = (
            picked if ended else [picked[i] for d in decoded for i in range(d.first, d.last + 1)]
        )
        job.mark_done(covered)
        with self.engine.begin() as conn:
            repo.add_samples(conn, video_id, rows)
            repo.set_index_state(
                conn,
                video_id,
                indexed_until_s=job.indexed_until_s,
                samples_done=job.samples_done,
                samples_total=len(job.times),
            )
            repo.set_index_state(conn, video_id, "indexing", only_from=_PENDING)
        self.samples.add(video_id, rows)
        if job.thumbs is not None:
            for d in decoded:
                if any(picked[i] in job.tile_starts for i in range(d.first, d.last + 1)):
                    job.thumbs.add(d.t, d.image)
        spacing_s = job.row.info.duration_s / max(len(job.times), 1)
        self._measure(video_id, len(picked), spacing_s, time.perf_counter() - started)
        if job.complete:
            self._finish(job)

    def _measure(self, video_id: int, samples: int, spacing_s: float, elapsed_s: float) -> None:
        if elapsed_s <= 0:
            return
        per_s = samples / elapsed_s
        with self._cond:
            rate = self._rates.setdefault(video_id, _Rate(per_s))
            # A moving average: the ETA should not jump with every batch.
            rate.samples_per_s = 0.8 * rate.samples_per_s + 0.2 * per_s
            rate.video_s_per_s = rate.samples_per_s * spacing_s

    def _finish(self, job: _Job) -> None:
        video_id = job.row.id
        with self.engine.begin() as conn:
            repo.set_index_state(
                conn,
                video_id,
                "done",
                indexed_until_s=job.indexed_until_s,
                samples_done=job.samples_done,
                samples_total=len(job.times),
                only_from=_PENDING,
            )
        logger.info("video %d: indexed, %d samples", video_id, job.samples_done)
        self._drop(video_id)

    def _fail(self, video_id: int, message: str) -> None:
        logger.warning("video %d: indexing stopped: %s", video_id, message)
        with self.engine.begin() as conn:
            repo.set_index_state(conn, video_id, "error", error=message, only_from=_PENDING)
        self._drop(video_id)

    def _unqueue(self, video_id: int) -> None:
        """Take a video out of the queue, the focus and the speed figures."""
        with self._cond:
            if video_id in self._queue:
                self._queue.remove(video_id)
            if self._focus is not None and self._focus[0] == video_id:
                self._focus = None
            self._rates.pop(video_id, None)

    def _drop(self, video_id: int) -> None:
        self._unqueue(video_id)
        job = self._jobs.pop(video_id, None)
        if job is not None:
            job.close_reader()

    def _close_jobs(self) -> None:
        for job in self._jobs.values():
            job.close_reader()
        self._jobs.clear()


def index_file_blocking(
    engine: Engine,
    video_id: int,
    segmenter: Segmenter,
    interval_s: float = 1.0,
    progress_cb: ProgressCallback | None = None,
    thumbs_dir: Path | None = None,
    batch: int = 4,
    max_side_px: int = INDEX_MAX_SIDE_PX,
) -> dict[str, Any]:
    """Index one video in the calling thread (the CLI); returns its final progress.

    Resumes a job a previous run left half done; raises PigWeightError when it fails.
    """
    indexer = VideoIndexer(
        engine, lambda: segmenter, interval_s, batch, thumbs_dir, max_side_px=max_side_px
    )
    indexer.enqueue(video_id)
    try:
        while video_id in indexer.pending() and indexer.step():
            if progress_cb is not None:
                state = indexer.progress(video_id)
                progress_cb(state["samples_done"], state["samples_total"])
    finally:
        indexer.stop()
    final = indexer.progress(video_id)
    if final["state"] == "error":
        raise PigWeightError(f"video {video_id}: {final['error']}")
    return final
