"""The video archive of one app: files in (upload, register), their index, HLS and frames.

`create_app()` builds it; the lifespan calls `start(engine)` once the database is open and
`stop()` at shutdown (it joins the indexer's thread). Every method is blocking: routes call
them through a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import Engine

from pigweight.domain import Image
from pigweight.errors import InvalidVideo, PigWeightError
from pigweight.media import hls
from pigweight.media.images import encode_jpeg
from pigweight.media.open_files import OpenFiles
from pigweight.media.probe import VideoInfo, probe_video
from pigweight.media.roots import resolve_under_roots, video_files_in
from pigweight.media.segment_cache import SegmentCache
from pigweight.media.uploads import UploadStore
from pigweight.pipeline.archive_answers import CountAt, CountedFrame, IndexProgress
from pigweight.pipeline.archive_zone import split_outlines, zoned
from pigweight.pipeline.indexer import IndexerOptions, VideoIndexer
from pigweight.settings import ArchiveSettings, SiteSettings
from pigweight.store import videos as repo
from pigweight.store.videos import SeriesPoint, VideoRow
from pigweight.vision.overlay import ZONE_RGB, draw_overlay
from pigweight.vision.segmenter import Segmenter
from pigweight.vision.zone import Zone, split

logger = logging.getLogger(__name__)

GB = 1024**3
STALE_UPLOAD_S = 24 * 3600.0
# A player asks for the outlines of a window around the picture, not of a 10 h file.
MAX_SAMPLES_SPAN_S = 600.0
MAX_SAMPLES = 5000
_OUTLINE_RGB = (255, 214, 10)
_OUTSIDE_RGB = (150, 150, 150)  # outside the zone: seen, not counted (vision/overlay.py)


def store_file(engine: Engine, path: Path, name: str, source: str) -> tuple[int, VideoInfo, bool]:
    """A recording in the database once (by path): (id, probe, whether it was added now).

    A file stored before is not probed again; a new one is probed by demuxing only.
    """
    with engine.connect() as conn:
        existing = repo.find_by_path(conn, str(path))
    if existing is not None:
        return existing.id, existing.info, False
    info = probe_video(path)
    with engine.begin() as conn:
        existing = repo.find_by_path(conn, str(path))  # added meanwhile by another request
        if existing is not None:
            return existing.id, existing.info, False
        return repo.add_video(conn, info, name, source), info, True


class VideoNotFound(PigWeightError):
    """No video has this id (404)."""

    code = "video_not_found"


class Archive:
    """Uploads, registered files, the indexer, HLS segments and frames of one data folder."""

    def __init__(
        self,
        settings: ArchiveSettings,
        data_dir: Path,
        segmenter: Callable[[], Segmenter],
        sites: SiteSettings | None = None,
    ) -> None:
        self.settings = settings
        self.sites = sites  # NATS_URL and its login, for INDEX_WORKERS=queue
        # Absolute: stored paths must not depend on the folder the server starts in.
        self.data_dir = Path(data_dir).resolve()
        self.videos_dir = self.data_dir / "videos"
        self.uploads = UploadStore(
            self.data_dir / "uploads", max_bytes=int(settings.max_video_upload_gb * GB)
        )
        # Seeks and segments reuse open files: an hour-long MP4 costs ~20 ms to open.
        self.files = OpenFiles()
        self.cache = SegmentCache(self.data_dir / "hls_cache", int(settings.hls_cache_mb * 2**20))
        self._segmenter = segmenter
        self._engine: Engine | None = None
        self.indexer: VideoIndexer | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("Archive.start() was not called")
        return self._engine

    def start(self, engine: Engine) -> None:
        """Use this database and start indexing (jobs a crash left half done resume)."""
        self._engine = engine
        options: IndexerOptions = {
            "interval_s": self.settings.index_interval_s,
            "thumbs_dir": self.data_dir / "thumbs",
            "files": self.files,
            "max_side_px": self.settings.index_max_side_px,
        }
        if self.settings.index_workers == "queue" and self.sites is not None:
            from pigweight.sites.index_queue import QueuedIndexer  # INDEX_WORKERS=queue

            url, shared = self.settings.index_source_url, self.settings.index_shared_root
            source = None if url is None else (url, self.data_dir)  # links to the files
            self.indexer = QueuedIndexer(
                engine, self._segmenter, self.sites, shared, source, **options
            )
        else:
            self.indexer = VideoIndexer(engine, self._segmenter, **options)
        self.indexer.start()
        # Resumable uploads abandoned for a day are partial files nobody will finish.
        for name in self.uploads.purge_stale(STALE_UPLOAD_S):
            logger.info("removed the abandoned upload %s", name)
        self._adopt_finished_uploads()

    def _adopt_finished_uploads(self) -> None:
        """Add the uploads a crash left complete on disk but not in the database.

        An upload is moved into videos/ only once whole, and recorded right after; a kill
        between the two would otherwise leave a file nobody sees.
        """
        if not self.videos_dir.is_dir():
            return
        with self.engine.connect() as conn:
            known = {row.path for row in repo.list_videos(conn)}
        for path in sorted(p for p in self.videos_dir.iterdir() if p.is_file()):
            if str(path) in known or path.name.startswith("."):
                continue
            try:
                row = self.add_file(path, path.name, "upload")
            except PigWeightError as exc:
                logger.warning("upload %s left by a restart is not a video: %s", path.name, exc)
                continue
            logger.info(
                "video %d: the upload %s finished before a restart, added", row.id, path.name
            )

    def stop(self) -> None:
        if self.indexer is not None:
            self.indexer.stop()
            self.indexer = None
        self.files.close()

    # --- files in ----------------------------------------------------------------------

    def add_file(self, path: Path, name: str, source: str) -> VideoRow:
        """Probe a file (demux only), store it, queue its indexing; the same path once.

        An uploaded file that is not a video is deleted: nothing of a refused upload stays.
        """
        try:
            video_id, info, added = store_file(self.engine, path, name, source)
        except InvalidVideo:
            if source == "upload":
                path.unlink(missing_ok=True)
            raise
        if added:
            self._indexer().enqueue(video_id)
            logger.info(
                "video %d: %s, %s %dx%d, %.0f s, %d keyframes%s",
                video_id,
                name,
                info.codec,
                info.width,
                info.height,
                info.duration_s,
                len(info.keyframes),
                " (truncated)" if info.truncated else "",
            )
        return self.video(video_id)

    def register(self, user_path: str) -> list[VideoRow]:
        """Add a file or every video in a folder under MEDIA_ROOTS (nothing is copied)."""
        roots = self.settings.media_roots
        files = video_files_in(resolve_under_roots(user_path, roots), roots)
        added: list[VideoRow] = []
        refused: list[str] = []
        for path in files:
            # One damaged file in an NVR folder must not stop the others half way.
            try:
                added.append(self.add_file(path, path.name, "register"))
            except InvalidVideo as exc:
                if len(files) == 1:
                    raise
                logger.warning("not registered: %s", exc)
                refused.append(str(exc))
        if refused and not added:
            raise InvalidVideo(f"none of the {len(files)} files is a readable video: {refused[0]}")
        return added

    # --- reading -----------------------------------------------------------------------

    def video(self, video_id: int) -> VideoRow:
        with self.engine.connect() as conn:
            row = repo.get_video(conn, video_id)
        if row is None:
            raise VideoNotFound(f"no video {video_id}; GET /api/video_file lists them")
        return row

    def videos(self) -> list[VideoRow]:
        with self.engine.connect() as conn:
            return repo.list_videos(conn)

    def progress(self, video_id: int) -> IndexProgress:
        self.video(video_id)
        return self._indexer().progress(video_id)

    def cancel(self, video_id: int) -> IndexProgress:
        self.video(video_id)
        self._indexer().cancel(video_id)
        return self._indexer().progress(video_id)

    def count_at(self, video_id: int, t: float, exact: bool = False) -> CountAt:
        """The count at t (`exact`: of the very frame shown at t, counted now if need be);
        where the index has nothing yet, the indexer moves there next (someone is looking
        at that part of the file)."""
        indexer = self._indexer()
        info = indexer.cached_info(video_id) or self.video(video_id).info
        _check_time(t, (video_id, info))
        answer = indexer.count_at(video_id, t, exact)
        if not answer.indexed:
            indexer.focus(video_id, t)
        return answer

    def count_at_cached(self, video_id: int, t: float) -> CountAt | None:
        """count_at from memory (no database, no decoding), for the event loop; None where
        count_at has to do more than a lookup."""
        indexer = self.indexer
        info = None if indexer is None else indexer.cached_info(video_id)
        if indexer is None or info is None:
            return None
        _check_time(t, (video_id, info))
        answer = indexer.count_at_cached(video_id, t)
        if answer is not None and not answer.indexed:
            indexer.focus(video_id, t)
        return answer

    def set_zone(self, video_id: int, zone: Zone | None) -> VideoRow:
        """Keep (None: remove) a recording's platform zone; every count of it uses the new
        zone from the next query on (the counts kept in memory are dropped)."""
        with self.engine.begin() as conn:
            found = repo.set_zone(conn, video_id, None if zone is None else zone.to_json())
        if not found:
            raise VideoNotFound(f"no video {video_id}; GET /api/video_file lists them")
        self._indexer().samples.drop(video_id)
        return self.video(video_id)

    def zone(self, video_id: int) -> Zone | None:
        """A recording's platform zone (None: the whole frame counts)."""
        return Zone.of(self.video(video_id).zone)

    def series(self, video_id: int, t0: float, t1: float, step: float) -> list[SeriesPoint]:
        zone = self.zone(video_id)
        recount = None if zone is None else (lambda row: zoned(row, zone))
        with self.engine.connect() as conn:
            return repo.series(conn, video_id, t0, t1, step, recount)

    def samples(self, video_id: int, t0: float, t1: float) -> list[CountedFrame]:
        """Counted frames with t0 <= t <= t1 and their outlines ((x, y) in 0-1 of the frame)."""
        if t1 < t0:
            raise InvalidTime(f"to={t1:g} s is before from={t0:g} s")
        if t1 - t0 > MAX_SAMPLES_SPAN_S:
            raise InvalidTime(
                f"{t1 - t0:g} s asked; ask for at most {MAX_SAMPLES_SPAN_S:g} s of samples at a "
                "time (count_series covers a whole file)"
            )
        zone = self.zone(video_id)
        with self.engine.connect() as conn:
            rows = repo.samples_between(conn, video_id, t0, t1, limit=MAX_SAMPLES)
        out: list[CountedFrame] = []
        for r in rows:
            inside, outside = split_outlines(json.loads(r.outlines), zone)
            out.append(
                CountedFrame(
                    t=r.t,
                    count=r.count if zone is None else len(inside),
                    outside=len(outside),
                    confidence=r.confidence,
                    indexed=not r.on_demand,
                    outlines=inside,
                    outside_outlines=outside,
                )
            )
        return out

    def frame_evidence(self, video_id: int, t: float) -> tuple[CountAt, bytes]:
        """The count at t (count_at) and a JPEG of the frame at t with the counted animals
        outlined: the evidence of a weighing recorded from a recording."""
        answer = self.count_at(video_id, t)
        row = self.video(video_id)
        _, image = hls.frame_at(Path(row.path), row.info, t, self.files)
        sample_t = answer.sample_t
        with self.engine.connect() as conn:
            rows = repo.samples_between(conn, video_id, sample_t - 1e-3, sample_t + 1e-3, limit=1)
        zone = Zone.of(row.zone)
        inside, outside = split_outlines(json.loads(rows[0].outlines) if rows else [], zone)
        picture = draw_outlines(image, inside, answer.count, outside, zone)
        return answer, encode_jpeg(picture, quality=85)

    def raw_frame(self, video_id: int, t: float) -> tuple[float, Image]:
        """The exact frame shown at t, as the recorder saw it (for the labelling queue)."""
        row = self.video(video_id)
        _check_time(t, row)
        return hls.frame_at(Path(row.path), row.info, t, self.files)

    def frame_jpeg(self, video_id: int, t: float, overlay: bool) -> tuple[float, bytes]:
        """The exact frame shown at t, as JPEG; with the animals drawn when overlay."""
        row = self.video(video_id)
        _check_time(t, row)
        frame_t, image = hls.frame_at(Path(row.path), row.info, t, self.files)
        if overlay:
            zone = Zone.of(row.zone)
            detections = self._segmenter().segment(image)
            _, flags = split(detections, zone)
            image = draw_overlay(image, detections, inside=flags, zone=zone)
        return frame_t, encode_jpeg(image, quality=85)

    # --- HLS -----------------------------------------------------------------------------

    def playlist(self, video_id: int, uri: Callable[[int], str]) -> str:
        row = self.video(video_id)
        _check_playable(row)
        return hls.playlist(self._segments(row), uri)

    def segment(self, video_id: int, n: int) -> Path:
        row = self.video(video_id)
        _check_playable(row)
        segments = self._segments(row)
        if not 0 <= n < len(segments):
            raise VideoNotFound(f"video {video_id} has segments 0-{len(segments) - 1}, not {n}")
        key = f"{video_id}/{n}.ts"
        return self.cache.get(
            key,
            lambda out: hls.remux_segment(Path(row.path), row.info, segments[n], out, self.files),
        )

    def raw_path(self, video_id: int) -> Path:
        path = Path(self.video(video_id).path)
        if not path.is_file():
            raise VideoNotFound(f"video {video_id}: its file {path.name} is gone from the disk")
        return path

    def thumb_file(self, video_id: int, name: str) -> Path:
        """thumbs.vtt or sprite_N.jpg of a video, once the indexer has written it."""
        self.video(video_id)
        path = self.data_dir / "thumbs" / str(video_id) / name
        if not path.is_file():
            raise VideoNotFound(
                f"video {video_id} has no {name} yet: it is written as indexing goes"
            )
        return path

    def _segments(self, row: VideoRow) -> list[hls.Segment]:
        return hls.plan_segments(row.info.keyframes, row.info.duration_s)

    def _indexer(self) -> VideoIndexer:
        if self.indexer is None:
            raise RuntimeError("Archive.start() was not called")
        return self.indexer


def draw_outlines(
    image: Image,
    outlines: list[list[list[float]]],
    count: int,
    outside: list[list[list[float]]] | None = None,
    zone: Zone | None = None,
) -> Image:
    """A copy of `image` with the stored outlines (0-1 of the frame) and the count drawn;
    animals `outside` the zone grey, the zone's line sky blue, as the live overlay draws them."""
    out = image.copy()
    h, w = out.shape[:2]
    thickness = max(2, round(max(h, w) / 400))
    for polygons, colour in ((outside or [], _OUTSIDE_RGB), (outlines, _OUTLINE_RGB)):
        pixels = [
            np.round(np.array(polygon, np.float64) * (w, h)).astype(np.int32)
            for polygon in polygons
            if len(polygon) >= 3
        ]
        cv2.polylines(out, pixels, isClosed=True, color=colour, thickness=thickness)
    if zone is not None:
        line = np.round(zone.pixels((h, w))).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [line], True, ZONE_RGB, thickness, cv2.LINE_AA)
    scale = max(h, w) / 640
    origin = (round(12 * scale), round(40 * scale))
    for colour, width in (((0, 0, 0), thickness + 3), (_OUTLINE_RGB, thickness)):  # edged
        font = cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(out, str(count), origin, font, 1.2 * scale, colour, width, cv2.LINE_AA)
    return out


def _check_time(t: float, video: VideoRow | tuple[int, VideoInfo]) -> None:
    video_id, info = (video.id, video.info) if isinstance(video, VideoRow) else video
    if not 0 <= t <= info.duration_s:
        raise InvalidTime(
            f"t={t:g} s is outside video {video_id}, which lasts {info.duration_s:.1f} s"
        )


def _check_playable(row: VideoRow) -> None:
    info: VideoInfo = row.info
    if not info.keyframes:
        raise InvalidTime(f"video {row.id} has no keyframe to start playing from")


class InvalidTime(PigWeightError):
    """A time outside the video (422)."""

    code = "invalid_time"
