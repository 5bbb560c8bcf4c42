"""VideoIndexer: counts archive files in the background, one sample every `interval_s`.

Jobs live in the database (`video_files.index_state`, `indexed_until_s`), not in memory:
every batch commits its samples and the new `indexed_until_s` in one transaction, so a
kill loses at most one batch and a restart resumes where the file was left. One worker
thread owns the decoders; `count_at` runs in the caller's thread and only reads, or
computes one sample on demand (seek + one inference) where the index has none yet.

Sampling (`index_job.plan_samples`): when every keyframe gap fits in `interval_s`, the
samples are keyframes and only keyframes are decoded; otherwise the sample for time T is the
first frame at or after T, decoded in one forward pass that drops the packets no sample
needs (`media/frame_reader.py`). A job's state is `index_job.IndexJob`; the timeline's
previews are `sprites.SpriteSheets`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import cv2
import numpy as np
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from pigweight.background import BackgroundThread
from pigweight.errors import PigWeightError
from pigweight.media import hls
from pigweight.media.frame_reader import INDEX_MAX_SIDE_PX, Decoded, fit_size
from pigweight.media.open_files import OpenFiles
from pigweight.media.probe import VideoInfo
from pigweight.pipeline.archive_answers import CountAt, IndexProgress
from pigweight.pipeline.archive_zone import zoned
from pigweight.pipeline.index_job import EPS_S, IndexJob, plan_samples, sample_row
from pigweight.pipeline.sample_cache import SampleCache
from pigweight.pipeline.sprites import SpriteSheets
from pigweight.store import videos as repo
from pigweight.store.videos import SampleRow
from pigweight.vision.segmenter import Segmenter
from pigweight.vision.zone import Zone

logger = logging.getLogger(__name__)

STOP_WAIT_S = 10.0  # the batch in hand commits first

_FOCUS_SPAN_S = 60.0  # after focus(t), [t, t + this) is indexed before anything else

ProgressCallback = Callable[[int, int], None]


@dataclass(slots=True)
class _Rate:
    samples_per_s: float = 0.0
    video_s_per_s: float = 0.0  # multiple of real time


class IndexerOptions(TypedDict):
    """How the archive sets up its indexer, in process or by queue (VideoIndexer's keywords)."""

    interval_s: float
    thumbs_dir: Path | None
    files: OpenFiles | None
    max_side_px: int


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
        self._jobs: dict[int, IndexJob] = {}  # touched by the worker (or step()) only
        self._stopping = False
        self._worker = BackgroundThread("video-indexer", self._run, STOP_WAIT_S)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Queue the jobs the database holds as queued or indexing, and start the worker
        (a worker still ending after a stop that timed out is waited for first)."""
        self._worker.start(self._queue_pending)

    def _queue_pending(self) -> None:
        with self.engine.connect() as conn:
            pending = repo.list_videos(conn, states=repo.PENDING_STATES)
        with self._cond:
            self._stopping = False
            # Jobs a crash left half done first: they were the oldest in the queue.
            for row in sorted(pending, key=lambda r: (r.index_state != "indexing", r.id)):
                if row.id not in self._queue:
                    self._queue.append(row.id)
        if pending:
            logger.info("video indexer: %d jobs to resume or start", len(pending))

    def stop(self, timeout_s: float = STOP_WAIT_S) -> None:
        """Finish the batch in hand (it commits), then stop and join the worker thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker.alive:
            self._worker.stop(timeout_s)
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
            repo.set_index_state(conn, video_id, "cancelled", only_from=repo.PENDING_STATES)

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

    def progress(self, video_id: int) -> IndexProgress:
        """How far the video's indexing is, and how fast it goes now."""
        with self.engine.connect() as conn:
            row = repo.get_video(conn, video_id)
        if row is None:
            raise KeyError(f"no video {video_id}")
        with self._cond:
            rate = self._rates.get(video_id) if row.index_state in repo.PENDING_STATES else None
        done, total = row.samples_done, row.samples_total
        if row.index_state == "done":
            percent = 100.0
        else:
            percent = round(100.0 * done / total, 1) if total else 0.0
        eta = None
        if rate is not None and rate.samples_per_s > 0:
            eta = round(max(total - done, 0) / rate.samples_per_s, 1)
        return IndexProgress(
            state=row.index_state,
            percent=percent,
            eta_s=eta,
            fps=None if rate is None else round(rate.samples_per_s, 2),
            speed_x=None if rate is None else round(rate.video_s_per_s, 1),
            samples_done=done,
            samples_total=total,
            indexed_until_s=round(row.indexed_until_s, 3),
            error=row.index_error,
        )

    def count_at(self, video_id: int, t: float, exact: bool = False) -> CountAt:
        """The count at t.

        From the latest stored sample at or before t when it is at most one interval (plus
        a frame) older, or (`exact`) when it is the very frame shown at t; `indexed` is
        False when that sample was computed for a query rather than by the index pass.
        Otherwise the frame shown at t is counted now, stored and returned with `indexed`
        False. Reads the database (the first time for a video, and
        where the in-memory samples have nothing near t).
        """
        info = self._info(video_id)
        self.samples.load(video_id, lambda: self._stored_samples(video_id))
        answer = self.count_at_cached(video_id, t, exact)
        if answer is not None:
            return answer
        with self.engine.connect() as conn:  # another node's indexer may have stored it
            zone = self._zone(conn, video_id)
            sample = repo.nearest_sample_at_or_before(
                conn, video_id, t + EPS_S, with_outlines=zone is not None
            )
        if sample is None or t - sample.t > self._reach(info, exact):
            sample = self._sample_on_demand(video_id, info, t)
        return CountAt.of(t, zoned(sample, zone))

    def _stored_samples(self, video_id: int) -> tuple[list[SampleRow], Zone | None]:
        """A video's samples in the database, and its zone (read after the cache began
        collecting: see SampleCache.drop)."""
        with self.engine.connect() as conn:
            zone = self._zone(conn, video_id)
            return repo.sample_counts(conn, video_id, with_outlines=zone is not None), zone

    @staticmethod
    def _zone(conn: Connection, video_id: int) -> Zone | None:
        row = repo.get_video(conn, video_id)
        return None if row is None else Zone.of(row.zone)

    def count_at_cached(self, video_id: int, t: float, exact: bool = False) -> CountAt | None:
        """count_at from memory only (no database, no decoding): None where that is not
        enough (the video's samples not loaded yet, or none near t). Cheap enough for the
        event loop."""
        with self._cond:
            info = self._infos.get(video_id)
        if info is None:
            return None
        loaded, sample = self.samples.at_or_before(video_id, t + EPS_S)
        if not loaded or sample is None or t - sample.t > self._reach(info, exact):
            return None
        return CountAt.of(t, sample)

    def _reach(self, info: VideoInfo, exact: bool = False) -> float:
        """How old a sample may be and still answer for t: one interval plus a frame, or
        (`exact`) less than a frame: the frame shown at t itself."""
        frame_s = 1.0 / info.fps if info.fps > 0 else 0.0
        if exact:
            return max(frame_s - EPS_S, EPS_S)
        return self.interval_s + frame_s + EPS_S

    def cached_info(self, video_id: int) -> VideoInfo | None:
        """A video's probe if a query or a job has read it (it never changes once stored)."""
        with self._cond:
            return self._infos.get(video_id)

    def _info(self, video_id: int) -> VideoInfo:
        info = self.cached_info(video_id)
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
        size = fit_size(image.shape[1], image.shape[0], self.max_side_px)
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
        if self._worker.alive and not self._worker.is_current:
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

    def _job(self, video_id: int) -> IndexJob:
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
                after = row.indexed_until_s - EPS_S
                done_times = repo.index_sample_times(conn, video_id, after_s=after)
            job = IndexJob(row, self.interval_s, done_times, self.max_side_px)
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
        started = time.perf_counter()
        decoded, rows = count_batch(job, picked, self._segmenter())
        with self.engine.begin() as conn:
            repo.add_samples(conn, video_id, rows)
            repo.set_index_state(
                conn,
                video_id,
                indexed_until_s=job.indexed_until_s,
                samples_done=job.samples_done,
                samples_total=len(job.times),
            )
            repo.set_index_state(conn, video_id, "indexing", only_from=repo.PENDING_STATES)
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

    def _finish(self, job: IndexJob) -> None:
        video_id = job.row.id
        with self.engine.begin() as conn:
            repo.set_index_state(
                conn,
                video_id,
                "done",
                indexed_until_s=job.indexed_until_s,
                samples_done=job.samples_done,
                samples_total=len(job.times),
                only_from=repo.PENDING_STATES,
            )
        logger.info("video %d: indexed, %d samples", video_id, job.samples_done)
        self._drop(video_id)

    def _fail(self, video_id: int, message: str) -> None:
        logger.warning("video %d: indexing stopped: %s", video_id, message)
        with self.engine.begin() as conn:
            repo.set_index_state(
                conn, video_id, "error", error=message, only_from=repo.PENDING_STATES
            )
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


def count_batch(
    job: IndexJob, picked: list[int], segmenter: Segmenter
) -> tuple[list[Decoded], list[SampleRow]]:
    """Decode and count a job's picked sample times and mark them done: the frames and
    their samples. Times the file ended before have no frame: they are done, with no
    sample. The one counting step of the in-process indexer and `pigweight worker`."""
    decoded, ended = job.open_reader().read([job.times[k] for k in picked])
    detections = segmenter.segment_batch([d.image for d in decoded]) if decoded else []
    rows = [sample_row(d.t, det) for d, det in zip(decoded, detections, strict=True)]
    covered = picked if ended else [picked[i] for d in decoded for i in range(d.first, d.last + 1)]
    job.mark_done(covered)
    return decoded, rows


def index_file_blocking(
    engine: Engine,
    video_id: int,
    segmenter: Segmenter,
    interval_s: float = 1.0,
    progress_cb: ProgressCallback | None = None,
    thumbs_dir: Path | None = None,
    batch: int = 4,
    max_side_px: int = INDEX_MAX_SIDE_PX,
) -> IndexProgress:
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
                progress_cb(state.samples_done, state.samples_total)
    finally:
        indexer.stop()
    final = indexer.progress(video_id)
    if final.state == "error":
        raise PigWeightError(f"video {video_id}: {final.error}")
    return final
