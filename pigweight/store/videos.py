"""Repository of the video archive: files with their probe and index state, and samples.

Plain functions on a SQLAlchemy Connection; the caller commits. A sample is one counted
frame, keyed by its own time `t` (seconds from the start of the video, rounded to ms).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from pigweight.media.probe import VideoInfo
from pigweight.store.db import video_files, video_samples

INDEX_STATES = ("queued", "indexing", "done", "cancelled", "error")
PENDING_STATES = ("queued", "indexing")  # an index job waits or runs: not over


@dataclass(frozen=True, slots=True)
class VideoRow:
    """A stored video file: its probe and where its indexing stands."""

    id: int
    name: str
    path: str
    source: str  # "upload" | "register"
    added_ts: float  # seconds since the epoch
    info: VideoInfo
    index_state: str  # one of INDEX_STATES
    index_error: str | None
    indexed_until_s: float  # every sample time below this is indexed
    samples_done: int
    samples_total: int
    zone: list[list[float]] | None = None  # the platform zone, [[x, y], ...] in 0-1


@dataclass(frozen=True, slots=True)
class SampleRow:
    """One counted frame of a video."""

    t: float  # the frame's own time, seconds from the start of the video
    count: int
    confidence: float  # 0-1
    outlines: str = "[]"  # JSON polygons, (x, y) in 0-1 of the frame size
    on_demand: bool = False  # computed for a query rather than by the index pass
    outside: int = 0  # animals outside the recording's zone (worked out at read time)


@dataclass(slots=True)
class SeriesPoint:
    """One bucket of a timeline (`series`): its peak sample, and the lowest count in it."""

    t: float  # the bucket's start
    count: int  # the peak
    min: int
    confidence: float  # the peak sample's
    sample_t: float  # the peak sample's time: where a click on the timeline seeks
    samples: int
    outside: int  # the peak sample's animals outside the zone


def add_video(conn: Connection, info: VideoInfo, name: str, source: str) -> int:
    """Insert a probed file, queued for indexing; returns its id."""
    values = {
        "name": name[:255],
        "path": str(info.path),
        "source": source,
        "size_bytes": info.size_bytes,
        "container": info.container,
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "duration_s": info.duration_s,
        "start_s": info.start_s,
        "frames": info.frames,
        "keyframes": json.dumps([round(k, 3) for k in info.keyframes], separators=(",", ":")),
        "truncated": info.truncated,
        "browser_playable": info.browser_playable,
        "added_ts": time.time(),
        "index_state": "queued",
        "index_error": None,
        "indexed_until_s": 0.0,
        "samples_done": 0,
        "samples_total": 0,
    }
    key = conn.execute(insert(video_files).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def get_video(conn: Connection, video_id: int) -> VideoRow | None:
    """One video, or None."""
    row = conn.execute(select(video_files).where(video_files.c.id == video_id)).mappings().first()
    return None if row is None else _to_video(row)


def find_by_path(conn: Connection, path: str) -> VideoRow | None:
    """The video stored for this file path, or None (a file is added once)."""
    row = conn.execute(select(video_files).where(video_files.c.path == path)).mappings().first()
    return None if row is None else _to_video(row)


def list_videos(conn: Connection, states: Collection[str] | None = None) -> list[VideoRow]:
    """Every video (or those in `states`), oldest first."""
    query = select(video_files).order_by(video_files.c.id)
    if states is not None:
        query = query.where(video_files.c.index_state.in_(list(states)))
    return [_to_video(r) for r in conn.execute(query).mappings()]


def count_by_state(conn: Connection) -> dict[str, int]:
    """How many videos are in each of INDEX_STATES (0 included)."""
    state = video_files.c.index_state
    counts = dict.fromkeys(INDEX_STATES, 0)
    for name, n in conn.execute(select(state, func.count()).group_by(state)):
        counts[str(name)] = int(n)
    return counts


def set_index_state(
    conn: Connection,
    video_id: int,
    state: str | None = None,
    *,
    error: str | None = None,
    indexed_until_s: float | None = None,
    samples_done: int | None = None,
    samples_total: int | None = None,
    only_from: Collection[str] | None = None,
) -> bool:
    """Update a video's index fields (None leaves a field as it is); True if a row changed.

    `only_from` changes the state only while it is one of those: a job the user cancelled
    between two batches must not flip back to "indexing" when the batch commits.
    """
    values: dict[str, Any] = {}
    if state is not None:
        if state not in INDEX_STATES:
            raise ValueError(f"unknown index state {state!r}")
        values["index_state"] = state
        values["index_error"] = error
    if indexed_until_s is not None:
        values["indexed_until_s"] = indexed_until_s
    if samples_done is not None:
        values["samples_done"] = samples_done
    if samples_total is not None:
        values["samples_total"] = samples_total
    if not values:
        return False
    condition = video_files.c.id == video_id
    if only_from is not None:
        condition = and_(condition, video_files.c.index_state.in_(list(only_from)))
    result = conn.execute(update(video_files).where(condition).values(**values))
    return bool(result.rowcount)


def add_samples(
    conn: Connection, video_id: int, rows: Sequence[SampleRow], replace: bool = True
) -> None:
    """Store samples; one already stored at the same t is replaced (the index pass's sample
    wins over an on-demand one), or raises IntegrityError when `replace` is False."""
    if not rows:
        return
    if replace:
        times = [r.t for r in rows]
        conn.execute(
            delete(video_samples).where(
                video_samples.c.video_id == video_id, video_samples.c.t.in_(times)
            )
        )
    conn.execute(
        insert(video_samples),
        [
            {
                "video_id": video_id,
                "t": r.t,
                "count": r.count,
                "confidence": r.confidence,
                "outlines": r.outlines,
                "on_demand": r.on_demand,
            }
            for r in rows
        ],
    )


def set_zone(conn: Connection, video_id: int, zone: list[list[float]] | None) -> bool:
    """Keep (None: remove) a video's platform zone; True if the video exists."""
    value = None if zone is None else json.dumps(zone, separators=(",", ":"))
    result = conn.execute(
        update(video_files).where(video_files.c.id == video_id).values(zone=value)
    )
    return bool(result.rowcount)


def nearest_sample_at_or_before(
    conn: Connection, video_id: int, t: float, with_outlines: bool = False
) -> SampleRow | None:
    """The latest sample whose t is at or before `t` (one index lookup)."""
    s = video_samples.c
    columns = [s.t, s.count, s.confidence, s.on_demand] + ([s.outlines] if with_outlines else [])
    query = select(*columns).where(s.video_id == video_id, s.t <= t).order_by(s.t.desc()).limit(1)
    row = conn.execute(query).mappings().first()
    return None if row is None else _to_sample(row, with_outlines=with_outlines)


def sample_counts(conn: Connection, video_id: int, with_outlines: bool = False) -> list[SampleRow]:
    """Every sample of a video, oldest first (for the sample cache); outlines only when
    asked: a zone needs them to count."""
    s = video_samples.c
    columns = [s.t, s.count, s.confidence, s.on_demand] + ([s.outlines] if with_outlines else [])
    query = select(*columns).where(s.video_id == video_id).order_by(s.t)
    return [_to_sample(r, with_outlines=with_outlines) for r in conn.execute(query).mappings()]


def samples_between(
    conn: Connection, video_id: int, t0: float, t1: float, limit: int | None = None
) -> list[SampleRow]:
    """Samples with t0 <= t <= t1, oldest first, with their outlines (the first `limit`)."""
    s = video_samples.c
    query = select(video_samples).where(s.video_id == video_id, s.t >= t0, s.t <= t1).order_by(s.t)
    if limit is not None:
        query = query.limit(limit)
    return [_to_sample(r) for r in conn.execute(query).mappings()]


def index_sample_times(conn: Connection, video_id: int, after_s: float = -1.0) -> list[float]:
    """Times of the index pass's own samples (not on-demand ones) after `after_s`, ascending."""
    s = video_samples.c
    query = (
        select(s.t)
        .where(s.video_id == video_id, s.t > after_s, s.on_demand.is_(False))
        .order_by(s.t)
    )
    return [float(t) for t in conn.execute(query).scalars()]


def series(
    conn: Connection,
    video_id: int,
    t0: float,
    t1: float,
    step: float,
    recount: Callable[[SampleRow], SampleRow] | None = None,
) -> list[SeriesPoint]:
    """One point per `step` seconds in [t0, t1) that has samples, for a timeline.

    `count` is the bucket's maximum: the timeline exists to find when a group stood on the
    scale, and the full group is the peak of a bucket, while the minimum or mean drops as
    animals walk on and off. `min` is there too, so a wide spread (animals moving) shows;
    `sample_t` is the time of the peak sample, where a click should seek. Buckets without
    samples (not indexed yet) have no point. `recount` (a recording's zone) counts each
    sample from its outlines; `outside` is the peak sample's animals outside the zone.
    """
    if step <= 0:
        raise ValueError("step must be positive")
    s = video_samples.c
    columns = [s.t, s.count, s.confidence] + ([s.outlines] if recount else [])
    query = select(*columns).where(s.video_id == video_id, s.t >= t0, s.t < t1).order_by(s.t)
    points: list[SeriesPoint] = []
    current: SeriesPoint | None = None
    bucket_index = -1
    for r in conn.execute(query).mappings():
        sample = SampleRow(r["t"], r["count"], r["confidence"], r["outlines"] if recount else "")
        if recount is not None:
            sample = recount(sample)
        t, count, confidence, outside = sample.t, sample.count, sample.confidence, sample.outside
        k = int((t - t0) // step)
        if current is None or k != bucket_index:
            bucket_index = k
            current = SeriesPoint(
                t=round(t0 + k * step, 3),
                count=count,
                min=count,
                confidence=round(confidence, 3),
                sample_t=t,
                samples=0,
                outside=outside,
            )
            points.append(current)
        current.samples += 1
        current.min = min(current.min, count)
        if count > current.count:
            current.count, current.confidence = count, round(confidence, 3)
            current.sample_t, current.outside = t, outside
    return points


def _to_sample(row: Any, with_outlines: bool = True) -> SampleRow:
    return SampleRow(
        t=float(row["t"]),
        count=int(row["count"]),
        confidence=float(row["confidence"]),
        outlines=str(row["outlines"]) if with_outlines else "",
        on_demand=bool(row["on_demand"]),
    )


def _to_video(row: Any) -> VideoRow:
    info = VideoInfo(
        path=Path(row["path"]),
        size_bytes=int(row["size_bytes"]),
        container=str(row["container"]),
        codec=str(row["codec"]),
        width=int(row["width"]),
        height=int(row["height"]),
        fps=float(row["fps"]),
        duration_s=float(row["duration_s"]),
        start_s=float(row["start_s"]),
        frames=int(row["frames"]),
        keyframes=tuple(float(k) for k in json.loads(row["keyframes"])),
        truncated=bool(row["truncated"]),
        browser_playable=bool(row["browser_playable"]),
    )
    return VideoRow(
        id=int(row["id"]),
        name=str(row["name"]),
        path=str(row["path"]),
        source=str(row["source"]),
        added_ts=float(row["added_ts"]),
        info=info,
        index_state=str(row["index_state"]),
        index_error=row["index_error"],
        indexed_until_s=float(row["indexed_until_s"]),
        samples_done=int(row["samples_done"]),
        samples_total=int(row["samples_total"]),
        zone=None if row["zone"] is None else json.loads(row["zone"]),
    )
