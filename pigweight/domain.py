"""The shared vocabulary: every stage speaks in these types.

Images are `(H, W, 3) uint8` RGB arrays throughout; converters to BGR (OpenCV) or other
layouts live at the edges that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
# Draws (N, H, W) masks from (N, 4) boxes in a frame of (H, W): outlines made on demand
OutlineFn = Callable[[npt.NDArray[np.float32], tuple[int, int]], npt.NDArray[np.bool_]]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture of a source."""

    image: Image  # (H, W, 3) uint8 RGB
    ts: float = 0.0  # seconds: media time for files, wall clock for live sources
    index: int = 0  # frame number within the source
    source_id: str = ""


@dataclass(slots=True)
class Detections:
    """Animals found in one frame; every array has N rows, in the same order."""

    boxes: npt.NDArray[np.float32]  # (N, 4) x1, y1, x2, y2 in frame pixels
    scores: npt.NDArray[np.float32]  # (N,) 0-1
    class_ids: npt.NDArray[np.int64]  # (N,)
    masks: npt.NDArray[np.bool_] | None = None  # (N, H, W) at frame size; None: boxes only
    track_ids: npt.NDArray[np.int64] | None = None  # (N,) set by the tracker
    frame_shape: tuple[int, int] = (0, 0)  # (H, W) of the frame the detections refer to
    # Expected animals the count may be off by (vision/count_confidence.py), when the segmenter
    # measures it (the pig detector); None: confidence is the mean score.
    doubt: float | None = None
    # When the masks are None and this is set, `outline_masks()` draws them from the boxes
    # the first time something shows them (the pig detector's ellipses): counting never
    # pays for outlines nobody looks at.
    outline: OutlineFn | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.boxes)
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(n, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(n)
        self.class_ids = np.asarray(self.class_ids, dtype=np.int64).reshape(n)
        if self.masks is not None:
            self.masks = np.asarray(self.masks, dtype=bool)
            if self.masks.shape[0] != n:
                raise ValueError(f"{self.masks.shape[0]} masks for {n} boxes")
            if n and self.frame_shape == (0, 0):
                self.frame_shape = (int(self.masks.shape[1]), int(self.masks.shape[2]))
        if self.track_ids is not None:
            self.track_ids = np.asarray(self.track_ids, dtype=np.int64).reshape(n)

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls, frame_shape: tuple[int, int] = (0, 0), with_masks: bool = True) -> Detections:
        h, w = frame_shape
        return cls(
            boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros(0, np.float32),
            class_ids=np.zeros(0, np.int64),
            masks=np.zeros((0, h, w), bool) if with_masks else None,
            frame_shape=frame_shape,
        )

    def select(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> Detections:
        """The detections at a boolean mask or index array, in that order."""
        return Detections(
            boxes=self.boxes[keep],
            scores=self.scores[keep],
            class_ids=self.class_ids[keep],
            masks=None if self.masks is None else self.masks[keep],
            track_ids=None if self.track_ids is None else self.track_ids[keep],
            frame_shape=self.frame_shape,
            doubt=self.doubt,
            outline=self.outline,
        )

    def outline_masks(self) -> npt.NDArray[np.bool_] | None:
        """(N, H, W) masks: the segmenter's, or drawn now from the boxes by `outline`
        (and kept); None when the segmenter gives boxes only."""
        if self.masks is None and self.outline is not None:
            self.masks = np.asarray(self.outline(self.boxes, self.frame_shape), dtype=bool)
        return self.masks

    @property
    def confidence(self) -> float:
        """How sure the count is, 0-1: exp(-doubt) when the segmenter measured its doubt,
        else the mean score (1.0 for an empty frame: nothing doubtful seen)."""
        if self.doubt is not None:
            return float(np.exp(-max(self.doubt, 0.0)))
        return float(self.scores.mean()) if len(self) else 1.0


@dataclass(frozen=True, slots=True)
class CountSample:
    """A count observed at one moment."""

    ts: float  # seconds, same clock as Frame.ts
    count: int
    confidence: float = 1.0  # 0-1, from the detections behind the count


@dataclass(frozen=True, slots=True)
class StableCount:
    """What the counter reports: a value to trust, and how much to trust it."""

    value: int | None  # None until the window holds enough samples
    confidence: float  # 0-1: agreement of the window times the detections' own confidence
    latest: int | None = None  # the most recent raw count
    samples: int = 0  # samples in the window
    stable: bool = False  # confidence reached the threshold
    histogram: dict[int, int] = field(default_factory=dict)  # count -> samples in window


@dataclass(frozen=True, slots=True)
class WeightRecord:
    """One weighing as stored: a group's count, its total weight and the average per head.

    Records are never changed: `corrected_by` and `deleted_reason` come from later rows.
    """

    id: int
    ts: float  # when the animals were weighed, seconds since the epoch (UTC)
    created_ts: float  # when this row was written (later than ts for a correction)
    timezone: str  # the farm's time zone at the time
    local_time: str  # ISO 8601 in that zone, with its offset
    local_date: str  # YYYYMMDD: the day of its CSV file
    camera: str
    count: int
    count_source: str  # "auto" (the camera's stable count) or "manual" (typed)
    confidence: float | None  # of an auto count, 0-1
    total_weight_kg: float
    avg_weight_kg: float
    note: str
    segmenter: str | None  # what counted (auto) or what the camera ran (manual)
    snapshot: str | None  # path of the evidence JPEG under DATA_DIR
    corrects_id: int | None = None  # the record this one replaces
    corrected_by: int | None = None  # the record that replaced this one
    deleted_reason: str | None = None
    deleted_ts: float | None = None
    weight_source: str = "manual"  # "scale" (read from the indicator) or "manual" (typed)
    evidence: str | None = None  # path of the evidence JSON under DATA_DIR (automatic ones)
    confirmed_ts: float | None = None  # when an operator confirmed it was right
    batch_id: int | None = None  # the batch it belongs to (batches.py); None: none
    batch_name: str | None = None

    @property
    def status(self) -> str:
        """'active', 'corrected' (replaced by a newer record) or 'deleted'."""
        if self.deleted_reason is not None:
            return "deleted"
        if self.corrected_by is not None:
            return "corrected"
        return "active"


@dataclass(frozen=True, slots=True)
class Batch:
    """A pen's or group's weighings: what the farm expects of it and what was weighed.

    A group weighing knows each group's average, not each animal's weight, so the spread
    is that of the group averages, weighted by head: individual animals vary more.
    """

    id: int
    name: str
    camera: str
    expected_head: int | None
    target_avg_kg: float | None
    note: str
    started_ts: float
    closed_ts: float | None
    weighings: int = 0
    animals: int = 0
    total_weight_kg: float = 0.0
    avg_weight_kg: float | None = None  # total / animals
    min_avg_weight_kg: float | None = None
    max_avg_weight_kg: float | None = None
    cv_percent: float | None = None  # of the group averages, by head; None below 2 weighings

    @property
    def is_open(self) -> bool:
        return self.closed_ts is None

    @property
    def over_count(self) -> bool:
        """More animals weighed than the batch has: a group was weighed twice, or the
        expected head count is wrong."""
        return self.expected_head is not None and self.animals > self.expected_head
