"""One archive file's indexing: its sample times, which are done, its decoder and sheets;
and what is stored of one counted frame."""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence

from pigweight.domain import Detections
from pigweight.media.frame_reader import FrameReader, Opener
from pigweight.media.probe import VideoInfo
from pigweight.pipeline.sprites import THUMB_EVERY_S, SpriteSheets
from pigweight.store.videos import SampleRow, VideoRow
from pigweight.vision.overlay import mask_outlines

EPS_S = 1e-3  # sample times are stored rounded to the millisecond
_OUTLINE_POINTS = 32


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


class IndexJob:
    """The worker's view of one file: its sample times, which are done, its decoder."""

    def __init__(
        self, row: VideoRow, interval_s: float, done_times: Sequence[float], max_side_px: int
    ) -> None:
        self.row = row
        self.max_side_px = max_side_px
        self.times, self.keyframes_only = plan_samples(row.info, interval_s)
        self.done = bytearray(len(self.times))
        until = bisect.bisect_left(self.times, row.indexed_until_s - EPS_S)
        self.done[:until] = b"\x01" * until
        for t in done_times:  # samples beyond the prefix: indexed first for a focus
            k = bisect.bisect_right(self.times, t + EPS_S) - 1
            if k >= 0:
                self.done[k] = 1
        self.samples_done = sum(self.done)
        self.cursor = until
        self._advance()
        tiles = [int(t // THUMB_EVERY_S + 1e-9) for t in self.times]
        self.tile_starts = {k for k in range(len(tiles)) if k == 0 or tiles[k] != tiles[k - 1]}
        self.reader: FrameReader | None = None
        self.opener: Opener | None = None  # None: the file at row.info.path
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
            start = max(self.cursor, bisect.bisect_right(self.times, window[0] + EPS_S) - 1)
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
            self.reader = FrameReader(
                self.row.info, self.keyframes_only, self.max_side_px, self.opener
            )
        return self.reader

    def close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _advance(self) -> None:
        while self.cursor < len(self.times) and self.done[self.cursor]:
            self.cursor += 1
