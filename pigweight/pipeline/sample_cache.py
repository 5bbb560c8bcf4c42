"""The archive's samples kept in memory, so that `count_at_time` answers without a query.

A player asks for the count many times a second while the index pass adds samples in the
background. The cache holds, per recently queried video, its samples' times, counts and
confidences (not their outlines) in time order; a lookup is a bisect on the event loop, no
thread and no database. The database stays the truth: a video is loaded from it on first
use, every sample this process stores is added after its commit, and a video nobody asked
about for a while is forgotten (least recently used first). A recording's platform zone
applies to the counts kept (those inside it, and how many outside): a video whose zone
changes is dropped and loaded anew.

Loading and adding race safely: the entry exists (not yet ready) before the database is
read, so a sample committed while it is read is either in what was read or added to the
entry, and both together are merged.

With several nodes sharing one PostgreSQL database a node does not see the samples another
node's indexer adds: its cache then lacks them, a lookup misses, and the caller asks the
database (see `VideoIndexer.count_at`), so an answer is never wrong, only slower.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from pigweight.pipeline.archive_zone import zoned
from pigweight.store.videos import SampleRow
from pigweight.vision.zone import Zone

_EPS_S = 1e-3  # sample times are stored rounded to the millisecond


class _Samples:
    __slots__ = ("ready", "rows", "times", "zone")

    def __init__(self) -> None:
        self.times: list[float] = []
        # Until ready, rows keep their outlines: the zone they are counted with is read
        # with the database, after they may have been added.
        self.rows: list[SampleRow] = []
        self.ready = False
        self.zone: Zone | None = None

    def put(self, row: SampleRow, replace: bool) -> None:
        i = bisect.bisect_left(self.times, row.t - _EPS_S / 2)
        if i < len(self.times) and abs(self.times[i] - row.t) < _EPS_S / 2:
            if replace:
                self.rows[i] = row
            return
        self.times.insert(i, row.t)
        self.rows.insert(i, row)


class SampleCache:
    """Samples (without outlines) of up to `max_videos` videos, safe across threads."""

    def __init__(self, max_videos: int = 16) -> None:
        self.max_videos = max(1, max_videos)
        self._lock = threading.Lock()
        self._videos: OrderedDict[int, _Samples] = OrderedDict()

    def at_or_before(self, video_id: int, t: float) -> tuple[bool, SampleRow | None]:
        """(loaded, the latest sample at or before t); (False, None) when not loaded."""
        with self._lock:
            entry = self._videos.get(video_id)
            if entry is None or not entry.ready:
                return False, None
            self._videos.move_to_end(video_id)
            i = bisect.bisect_right(entry.times, t)
            return True, (entry.rows[i - 1] if i > 0 else None)

    def loaded(self, video_id: int) -> bool:
        with self._lock:
            entry = self._videos.get(video_id)
            return entry is not None and entry.ready

    def load(
        self, video_id: int, read: Callable[[], tuple[Iterable[SampleRow], Zone | None]]
    ) -> None:
        """Fill a video's samples from the database (`read`: its samples and its zone),
        keeping what the index adds while the read runs."""
        if self.loaded(video_id):
            return
        self.begin_load(video_id)
        stored, zone = read()
        self.finish_load(video_id, stored, zone)

    def begin_load(self, video_id: int) -> None:
        """Start collecting what is added for this video; call before reading the database."""
        with self._lock:
            if video_id in self._videos:
                return
            self._videos[video_id] = _Samples()
            while len(self._videos) > self.max_videos:
                self._videos.popitem(last=False)

    def finish_load(
        self, video_id: int, stored: Iterable[SampleRow], zone: Zone | None = None
    ) -> None:
        """Merge what the database held (read after begin_load) and mark the video ready;
        counts are those inside `zone`, the video's zone read with the samples (with their
        outlines where there is one)."""
        with self._lock:
            entry = self._videos.get(video_id)
            if entry is None or entry.ready:
                return  # forgotten (or its zone changed) meanwhile, or loaded by another thread
            entry.zone = zone
            entry.rows = [_light(row, zone) for row in entry.rows]
            for row in stored:
                entry.put(_light(row, zone), replace=False)  # what was added since is newer
            entry.ready = True

    def drop(self, video_id: int) -> None:
        """Forget a video (its zone changed): the next query loads it counted anew."""
        with self._lock:
            self._videos.pop(video_id, None)

    def add(self, video_id: int, rows: Iterable[SampleRow], replace: bool = True) -> None:
        """Samples just committed; ignored for a video the cache does not hold."""
        with self._lock:
            entry = self._videos.get(video_id)
            if entry is None:
                return
            for row in rows:
                entry.put(_light(row, entry.zone) if entry.ready else row, replace)


def _light(row: SampleRow, zone: Zone | None) -> SampleRow:
    """The row counted inside the zone, without its outlines: a count does not need them."""
    row = zoned(row, zone)
    if not row.outlines:
        return row
    return SampleRow(row.t, row.count, row.confidence, "", row.on_demand, row.outside)
