"""The labelling queue: frames worth labelling, and their labels as versioned rows.

Frames come by themselves (a weighing whose typed count differs from the camera's, one the
platform asked the operator to confirm, a low-confidence count, a small random sample of
confident ones) or are added by an admin. Their raw JPEG lives in DATA_DIR/labelling/<camera>/,
bounded by LABEL_QUEUE_MB: the oldest unlabelled random samples go first, then the oldest
other unlabelled frames; a labelled frame is never dropped.

A label is a set of boxes saved as a new version (who, when, what changed). A save names the
version it was made from; when someone saved another since, it is refused (LabelConflict)
and nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from pigweight.domain import Image
from pigweight.durable import replace_file
from pigweight.errors import PigWeightError, Refusal
from pigweight.media.images import encode_jpeg, is_infrared
from pigweight.store.db import label_frames, label_versions
from pigweight.teaching.boxes import Box, changes, clean_boxes
from pigweight.teaching.folder import FrameSplit, Row, split_frames

logger = logging.getLogger(__name__)

FRAME_DIR = "labelling"
REASONS = (
    "typed_count_differs",
    "confirm_asked",
    "low_confidence",
    "sample",
    "added",
    "imported",
)
JPEG_QUALITY = 92


class FrameNotFound(PigWeightError):
    code = "frame_not_found"


class FrameNotKept(Refusal):
    """The frame's picture could not be written (507): the disk is full or not writable."""

    code = "insufficient_storage"


class LabelConflict(Refusal):
    """Someone saved a newer version of the frame's labels than the one edited (409)."""

    code = "label_conflict"


@dataclass(frozen=True, slots=True)
class LabelFrame:
    id: int
    camera: str
    ts: float
    reason: str
    file: str
    bytes: int
    width: int
    height: int
    model_count: int | None
    typed_count: int | None
    confidence: float | None
    source_name: str | None
    infrared: bool | None  # a grey picture: a camera's night (infrared) mode
    version: int  # 0: never labelled
    boxes: tuple[Box, ...] | None  # the newest version's, None: never labelled
    labelled_by: str | None

    @property
    def count(self) -> int | None:
        return None if self.boxes is None else len(self.boxes)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera": self.camera,
            "ts": self.ts,
            "reason": self.reason,
            "model_count": self.model_count,
            "typed_count": self.typed_count,
            "confidence": self.confidence,
            "version": self.version,
            "count": self.count,
            "labelled_by": self.labelled_by,
            "source_name": self.source_name,
            "infrared": self.infrared,
            "width": self.width,
            "height": self.height,
        }


@dataclass(frozen=True, slots=True)
class LabelVersion:
    version: int
    user: str
    ts: float
    count: int
    added: int
    removed: int
    moved: int


def _newest_versions() -> Any:
    """(frame_id, version) of each labelled frame's newest version."""
    return (
        select(label_versions.c.frame_id, func.max(label_versions.c.version).label("version"))
        .group_by(label_versions.c.frame_id)
        .subquery()
    )


def _boxes(rows: list[list[float]]) -> tuple[Box, ...]:
    return tuple((float(a), float(b), float(c), float(d)) for a, b, c, d in rows)


class LabelQueue:
    """Frames and labels of every camera; thread-safe, one per app."""

    licence = "the farm's own frames: for this farm only"

    def __init__(self, data_dir: Path, limit_mb: float) -> None:
        self.data_dir = Path(data_dir)
        self.limit_bytes = int(limit_mb * 1024 * 1024)
        self._engine: Engine | None = None
        self._lock = threading.Lock()  # one writer of files and rows at a time

    def start(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("LabelQueue used before start()")
        return self._engine

    # --- adding -----------------------------------------------------------------------------

    def add(
        self,
        camera: str,
        image: Image,
        reason: str,
        ts: float | None = None,
        model_count: int | None = None,
        typed_count: int | None = None,
        confidence: float | None = None,
        source_name: str | None = None,
        jpeg: bytes | None = None,
        enforce: bool = True,
    ) -> LabelFrame:
        """Keep `image` (RGB) for labelling; the queue's budget is enforced afterwards."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        data = jpeg if jpeg is not None else encode_jpeg(image, quality=JPEG_QUALITY)
        now = time.time()
        height, width = int(image.shape[0]), int(image.shape[1])
        with self._lock:
            folder = self.data_dir / FRAME_DIR / camera
            stem = f"{int(now * 1000):013d}-{reason}"
            path = folder / f"{stem}.jpg"
            n = 1
            while path.exists():
                n += 1
                path = folder / f"{stem}-{n}.jpg"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                replace_file(path, data)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    path.with_name(path.name + ".tmp").unlink(missing_ok=True)
                raise FrameNotKept(
                    f"the frame could not be written ({exc.strerror or exc}): free some disk "
                    "space on the server"
                ) from None
            relative = path.relative_to(self.data_dir).as_posix()
            try:
                with self.engine.begin() as conn:
                    key = conn.execute(
                        insert(label_frames).values(
                            camera=camera,
                            ts=now if ts is None else ts,
                            added_ts=now,
                            reason=reason,
                            file=relative,
                            bytes=len(data),
                            width=width,
                            height=height,
                            model_count=model_count,
                            typed_count=typed_count,
                            confidence=confidence,
                            source_name=source_name,
                            infrared=is_infrared(image),
                        )
                    ).inserted_primary_key
                    assert key is not None
                    frame_id = int(key[0])
            except Exception:
                path.unlink(missing_ok=True)
                raise
            if enforce:
                self._enforce_budget()
        logger.info("labelling: kept a frame of %s (%s) as %d", camera, reason, frame_id)
        return self.frame(int(frame_id))

    def enforce_budget(self) -> None:
        with self._lock:
            self._enforce_budget()

    def _enforce_budget(self) -> None:
        """Drop unlabelled frames, random samples first, oldest first, to fit the budget."""
        with self.engine.connect() as conn:
            total = conn.execute(select(func.coalesce(func.sum(label_frames.c.bytes), 0))).scalar()
            if int(total or 0) <= self.limit_bytes:
                return
            labelled = select(label_versions.c.frame_id).distinct()
            rows = conn.execute(
                select(label_frames.c.id, label_frames.c.bytes, label_frames.c.file)
                .where(label_frames.c.id.not_in(labelled))
                .order_by((label_frames.c.reason != "sample"), label_frames.c.ts)
            ).all()
        over = int(total or 0) - self.limit_bytes
        dropped: list[int] = []
        for row in rows:
            if over <= 0:
                break
            dropped.append(int(row.id))
            over -= int(row.bytes)
            (self.data_dir / row.file).unlink(missing_ok=True)
        if dropped:
            with self.engine.begin() as conn:
                conn.execute(delete(label_frames).where(label_frames.c.id.in_(dropped)))
            logger.info("labelling: the queue is full, dropped %d unlabelled frames", len(dropped))
        if over > 0:
            logger.warning(
                "labelling: labelled frames alone take more than LABEL_QUEUE_MB; none dropped"
            )

    # --- reading ----------------------------------------------------------------------------

    def frames(
        self, camera: str, status: str = "all", limit: int = 50, offset: int = 0
    ) -> tuple[list[LabelFrame], dict[str, Any]]:
        """A page of a camera's frames, newest first, and the queue's figures (the page
        and the counts are read by the database: a full queue holds thousands)."""
        newest = _newest_versions()
        counted = (
            select(func.count(), func.count(newest.c.version))
            .select_from(label_frames.outerjoin(newest, newest.c.frame_id == label_frames.c.id))
            .where(label_frames.c.camera == camera)
        )
        with self.engine.connect() as conn:
            total, labelled = conn.execute(counted).one()
            total_bytes = conn.execute(
                select(func.coalesce(func.sum(label_frames.c.bytes), 0))
            ).scalar()
        page = self._frames(camera, status=status, limit=limit, offset=offset)
        todo = int(total) - int(labelled)
        figures = {
            "total": {"todo": todo, "labelled": int(labelled)}.get(status, int(total)),
            "labelled": int(labelled),
            "todo": todo,
            "queue_mb": round(int(total_bytes or 0) / 1024 / 1024, 2),
            "limit_mb": round(self.limit_bytes / 1024 / 1024, 2),
        }
        return page, figures

    def labelled(self, camera: str) -> list[LabelFrame]:
        """The camera's labelled frames, oldest first (the order the time split takes)."""
        return sorted(self._frames(camera, status="labelled"), key=lambda f: (f.ts, f.id))

    def rows(self, split: FrameSplit[LabelFrame]) -> FrameSplit[Row]:
        """A split of frames as the rows an exported folder is written from."""

        def row(f: LabelFrame) -> Row:
            return (f.id, f.ts, f.source_name, self.image_path(f), f.boxes or ())

        return FrameSplit(
            [row(f) for f in split.train],
            [row(f) for f in split.validation],
            [row(f) for f in split.held_out],
        )

    def split(self, camera: str) -> FrameSplit[LabelFrame]:
        """The camera's labelled frames split by time and light (teaching/folder.py)."""
        return split_frames(self.labelled(camera), lambda f: bool(f.infrared))

    def frame(self, frame_id: int) -> LabelFrame:
        frames = self._frames(None, frame_id)
        if not frames:
            raise FrameNotFound(f"no frame {frame_id} in the labelling queue")
        return frames[0]

    def history(self, frame_id: int) -> list[LabelVersion]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(label_versions)
                .where(label_versions.c.frame_id == frame_id)
                .order_by(label_versions.c.version.desc())
            ).all()
        return [
            LabelVersion(
                r.version, r.user, r.ts, len(json.loads(r.boxes)), r.added, r.removed, r.moved
            )
            for r in rows
        ]

    def image_path(self, frame: LabelFrame) -> Path:
        return self.data_dir / frame.file

    def _frames(
        self,
        camera: str | None,
        frame_id: int | None = None,
        status: str = "all",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[LabelFrame]:
        """Frames with their newest labels: a camera's (a page of them, newest first, when
        `limit` is given; "todo" or "labelled" only), or the one of `frame_id`."""
        newest = _newest_versions()
        query = (
            select(label_frames, newest.c.version, label_versions.c.boxes, label_versions.c.user)
            .outerjoin(newest, newest.c.frame_id == label_frames.c.id)
            .outerjoin(
                label_versions,
                (label_versions.c.frame_id == newest.c.frame_id)
                & (label_versions.c.version == newest.c.version),
            )
        )
        if status == "todo":
            query = query.where(newest.c.version.is_(None))
        elif status == "labelled":
            query = query.where(newest.c.version.is_not(None))
        if limit is not None:
            query = query.order_by(label_frames.c.ts.desc(), label_frames.c.id.desc())
            query = query.limit(limit).offset(offset)
        if camera is not None:
            query = query.where(label_frames.c.camera == camera)
        if frame_id is not None:
            query = query.where(label_frames.c.id == frame_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            LabelFrame(
                id=r.id,
                camera=r.camera,
                ts=r.ts,
                reason=r.reason,
                file=r.file,
                bytes=r.bytes,
                width=r.width,
                height=r.height,
                model_count=r.model_count,
                typed_count=r.typed_count,
                confidence=r.confidence,
                source_name=r.source_name,
                infrared=r.infrared,
                version=int(r.version or 0),
                boxes=None if r.boxes is None else _boxes(json.loads(r.boxes)),
                labelled_by=r.user,
            )
            for r in rows
        ]

    # --- labelling --------------------------------------------------------------------------

    def save(
        self,
        frame_id: int,
        base_version: int,
        boxes: Any,
        user: str,
        before: Sequence[Box] | None = None,
    ) -> LabelFrame:
        """Save `boxes` as the version after `base_version`; LabelConflict when someone saved
        another since. `before`: what the editor started from when nobody had labelled the
        frame yet (the model's boxes), to say what changed."""
        clean = clean_boxes(boxes)
        frame = self.frame(frame_id)
        if base_version != frame.version:
            raise self._conflict(frame)
        start = frame.boxes if frame.boxes is not None else tuple(before or ())
        added, removed, moved = changes(start, clean)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(label_versions).values(
                        frame_id=frame_id,
                        version=base_version + 1,
                        boxes=json.dumps([list(b) for b in clean]),
                        user=user,
                        ts=time.time(),
                        added=added,
                        removed=removed,
                        moved=moved,
                    )
                )
        except IntegrityError:  # saved by someone else between the check and the insert
            raise self._conflict(self.frame(frame_id)) from None
        logger.info(
            "labelling: frame %d labelled by %s (version %d, %d animals)",
            frame_id,
            user,
            base_version + 1,
            len(clean),
        )
        return self.frame(frame_id)

    def _conflict(self, frame: LabelFrame) -> LabelConflict:
        return LabelConflict(
            f"frame {frame.id} was saved by {frame.labelled_by} (version {frame.version}) "
            "since you opened it: reload it and make your change again",
            version=frame.version,
            user=frame.labelled_by or "",
            ts=self.history(frame.id)[0].ts if frame.version else None,
        )

    def remove(self, frame_id: int) -> None:
        """Drop a frame and its labels (an admin's decision: a useless picture)."""
        frame = self.frame(frame_id)
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(label_versions).where(label_versions.c.frame_id == frame_id))
            conn.execute(delete(label_frames).where(label_frames.c.id == frame_id))
        self.image_path(frame).unlink(missing_ok=True)
        logger.info("labelling: frame %d removed", frame_id)
