"""A recording's platform zone applied at read time to the outlines its index stored.

The index keeps every animal's outline (in 0-1 of the frame), so a zone drawn after the
recording was indexed needs no new pass: an animal is on the platform when the area
centroid of its outline lies inside the zone (on the edge counts), as a live camera uses
its mask's centroid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from pigweight.store.videos import SampleRow
from pigweight.vision.zone import Zone

Outline = list[list[float]]


def centroid(polygon: Sequence[Sequence[float]]) -> tuple[float, float]:
    """The area centroid of a polygon; the mean of its points when it has no area."""
    xy = np.asarray(polygon, np.float64).reshape(-1, 2)
    x, y = xy[:, 0], xy[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = cross.sum() / 2.0
    if abs(area) < 1e-12:  # a sliver: the area formula divides by ~0
        return float(x.mean()), float(y.mean())
    return (
        float(((x + x1) * cross).sum() / (6.0 * area)),
        float(((y + y1) * cross).sum() / (6.0 * area)),
    )


def split_outlines(
    outlines: list[Outline], zone: Zone | None
) -> tuple[list[Outline], list[Outline]]:
    """(the outlines on the platform, those outside); no zone: all on the platform."""
    if zone is None:
        return outlines, []
    contour = np.asarray(zone.points, np.float32).reshape(-1, 1, 2)
    inside: list[Outline] = []
    outside: list[Outline] = []
    for polygon in outlines:
        if not polygon:
            continue
        anchor = centroid(polygon)
        on = cv2.pointPolygonTest(contour, (float(anchor[0]), float(anchor[1])), False) >= 0
        (inside if on else outside).append(polygon)
    return inside, outside


def zoned(row: SampleRow, zone: Zone | None) -> SampleRow:
    """The sample as the zone counts it: `count` those inside, `outside` the others.

    Needs the row's outlines when there is a zone; without one the row is as stored.
    """
    if zone is None:
        return row
    inside, outside = split_outlines(json.loads(row.outlines or "[]"), zone)
    return replace(row, count=len(inside), outside=len(outside))
