"""A frame's labels as boxes: checked as they come from the page or an import, and what
changed from one version to the next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pigweight.errors import PigWeightError

MAX_BOXES = 500
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in 0-1 of the frame


class LabelRejected(PigWeightError):
    code = "invalid_labels"


def clean_boxes(boxes: Any) -> tuple[Box, ...]:
    """Normalised boxes as sent by the page or an import; LabelRejected says what is wrong."""
    if not isinstance(boxes, (list, tuple)):
        raise LabelRejected("boxes: send a list of [x1, y1, x2, y2] in 0-1 of the frame")
    if len(boxes) > MAX_BOXES:
        raise LabelRejected(f"{len(boxes)} boxes on one frame; at most {MAX_BOXES}")
    out: list[Box] = []
    for i, box in enumerate(boxes):
        try:
            x1, y1, x2, y2 = (float(v) for v in box)
        except (TypeError, ValueError):
            raise LabelRejected(f"box {i + 1}: four numbers [x1, y1, x2, y2] needed") from None
        if not all(np.isfinite([x1, y1, x2, y2])):
            raise LabelRejected(f"box {i + 1}: not a number")
        if min(x1, y1, x2, y2) < -0.001 or max(x1, y1, x2, y2) > 1.001:
            raise LabelRejected(f"box {i + 1}: outside the frame (coordinates are 0-1)")
        if x2 - x1 < 0.002 or y2 - y1 < 0.002:
            raise LabelRejected(f"box {i + 1}: empty (x2 must be right of x1, y2 below y1)")
        out.append(
            (
                round(max(0.0, x1), 5),
                round(max(0.0, y1), 5),
                round(min(1.0, x2), 5),
                round(min(1.0, y2), 5),
            )
        )
    return tuple(out)


def changes(before: Sequence[Box], after: Sequence[Box]) -> tuple[int, int, int]:
    """(added, removed, moved) from one set of boxes to the next: a box of `after` matching
    one of `before` (IoU >= 0.3, greedily) is the same animal; moved when they differ."""
    unmatched = list(range(len(before)))
    added = moved = 0
    for box in after:
        best, best_iou = -1, 0.3
        for j in unmatched:
            iou = _iou(box, before[j])
            if iou >= best_iou:
                best, best_iou = j, iou
        if best < 0:
            added += 1
            continue
        unmatched.remove(best)
        if max(abs(a - b) for a, b in zip(box, before[best], strict=True)) > 0.002:
            moved += 1
    return added, len(unmatched), moved


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
