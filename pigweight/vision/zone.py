"""The platform zone: the part of the picture where animals are counted.

Pigs in the corridor, behind the rail or in the neighbouring pen are the most common
over-count on a real platform. A zone is a polygon in 0-1 of the frame (x to the right, y
down, as the outlines are stored); an animal is on the platform when its anchor lies inside:
the centroid of its mask, or the centre of its box when there is no mask. The animals
outside are kept (the overlay draws them greyed) but not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, Field

from pigweight.domain import Detections
from pigweight.vision.count_confidence import edge_doubt

MIN_POINTS = 3
MAX_POINTS = 64

Point = Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], Field(min_length=2, max_length=2)]


def _closed_area(points: list[list[float]]) -> list[list[float]]:
    if polygon_area(points) <= 1e-4:
        raise ValueError(
            "the zone has no area: give at least 3 points that are not on one line, "
            "in 0-1 of the picture"
        )
    return points


# A zone as it is written in the cameras file and sent to the API: [[x, y], ...] in 0-1.
ZonePoints = Annotated[
    list[Point],
    Field(
        min_length=MIN_POINTS,
        max_length=MAX_POINTS,
        description="The platform's outline, [[x, y], ...] in 0-1 of the picture (x to the "
        "right, y down); animals whose centre lies outside are not counted.",
    ),
    AfterValidator(_closed_area),
]


def polygon_area(points: Sequence[Sequence[float]]) -> float:
    """The area of a polygon (shoelace), in the units of its points squared."""
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x, y = xy[:, 0], xy[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


@dataclass(frozen=True, slots=True)
class Zone:
    """A validated platform zone: (K, 2) points in 0-1 of the frame."""

    points: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, points: Sequence[Sequence[float]] | None) -> Zone | None:
        """The zone of checked points (ZonePoints); None for no zone (the whole frame)."""
        if points is None:
            return None
        return cls(tuple((float(x), float(y)) for x, y in points))

    def to_json(self) -> list[list[float]]:
        return [[round(x, 5), round(y, 5)] for x, y in self.points]

    def pixels(self, frame_shape: tuple[int, int]) -> npt.NDArray[np.float32]:
        """(K, 2) x, y in pixels of a frame of (H, W)."""
        h, w = frame_shape
        return np.asarray(self.points, np.float32) * np.array([w, h], np.float32)

    def inside(self, detections: Detections) -> npt.NDArray[np.bool_]:
        """(N,) True where the animal's anchor lies in the zone (on its edge counts)."""
        return self.edge_distances(detections) >= 0

    def edge_distances(self, detections: Detections) -> npt.NDArray[np.float64]:
        """(N,) pixels from each animal's anchor to the zone's edge, > 0 inside; +inf for
        all when the frame's size is unknown (every animal counts)."""
        h, w = detections.frame_shape
        if not len(detections) or h == 0 or w == 0:
            return np.full(len(detections), np.inf)
        contour = self.pixels((h, w)).reshape(-1, 1, 2)
        return np.array(
            [cv2.pointPolygonTest(contour, point, True) for point in anchors(detections)],
            dtype=np.float64,
        )


def anchors(detections: Detections) -> list[tuple[float, float]]:
    """Each animal's anchor in pixels: its mask's centroid, else its box's centre."""
    points: list[tuple[float, float]] = []
    for i, (x1, y1, x2, y2) in enumerate(detections.boxes.tolist()):
        centre = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
        if detections.masks is not None:
            top, left = max(0, int(y1)), max(0, int(x1))
            ys, xs = np.nonzero(
                detections.masks[i, top : int(np.ceil(y2)) + 1, left : int(np.ceil(x2)) + 1]
            )
            if len(xs):  # within the box: a full-frame pass per animal is too slow live
                centre = (float(xs.mean()) + left, float(ys.mean()) + top)
        points.append(centre)
    return points


def split(detections: Detections, zone: Zone | None) -> tuple[Detections, npt.NDArray[np.bool_]]:
    """(the animals on the platform, the (N,) inside flags of all); no zone: all inside."""
    if zone is None:
        return detections, np.ones(len(detections), dtype=bool)
    distances = zone.edge_distances(detections)  # one pass over the anchors, for both
    flags = distances >= 0
    counted = detections.select(flags)
    if detections.doubt is not None and len(detections):
        # animals astride the edge may count or not (vision/count_confidence.py)
        boxes = detections.boxes
        sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        counted.doubt = detections.doubt + edge_doubt(distances, sizes.astype(np.float64))
    return counted, flags


def parse_zone_json(value: Any) -> Zone | None:
    """A zone from decoded JSON (the API's body, a CLI argument); ValueError saying why."""
    from pydantic import TypeAdapter, ValidationError

    if value is None:
        return None
    try:
        return Zone.of(TypeAdapter(ZonePoints).validate_python(value))
    except ValidationError as exc:
        raise ValueError(f"zone: {_reason(exc.errors()[0])}") from None


def _reason(error: Any) -> str:
    """One pydantic error of a zone in the words of the picture, not of the schema."""
    loc = [p for p in error["loc"] if isinstance(p, int)]
    where = f"point {loc[0] + 1}" if loc else ""
    if len(loc) > 1:
        where += " " + ("x" if loc[1] == 0 else "y")
    kind = error["type"]
    if kind in ("greater_than_equal", "less_than_equal"):
        what = "must be in 0-1 of the picture (x from the left edge, y from the top)"
    elif kind == "too_short" and len(loc) == 0:
        what = f"give at least {MIN_POINTS} points [x, y]"
    elif kind == "too_long" and len(loc) == 0:
        what = f"give at most {MAX_POINTS} points"
    elif kind == "list_type":
        what = "write it as [[x, y], ...] in 0-1 of the picture"
    elif kind in ("too_short", "too_long"):
        what = "a point is [x, y]: two numbers"
    else:
        what = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {what}" if where else what
