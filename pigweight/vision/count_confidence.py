"""How sure one frame's count is: the doubt the picture leaves, turned into 0-1.

A count is wrong by whole animals, so the frame's *doubt* is an expected number of animals
the count may be off by, summed over what a person looking at the overlay would hesitate
about:

- a detection whose score lies just above the threshold, or a candidate just below it
  (within `SCORE_BAND`): it could go either way; the closer to the threshold, the closer
  to a full animal of doubt;
- two detections that overlap heavily (IoU above `OVERLAP_IOU`): one animal seen twice, or
  two pressed together;
- a box much larger than the frame's typical animal (`LARGE_BOX` times the median area):
  two animals in one box;
- an animal whose anchor lies near the platform zone's edge (within a quarter of its own
  size): on the line between counted and not.

confidence = exp(-doubt): 1.0 for a clean frame, about 0.6 with one animal in doubt.
The window counter (counting/counter.py) multiplies it by how well the last frames agree.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SCORE_BAND = 0.15
OVERLAP_IOU = 0.4
LARGE_BOX = 2.0
EDGE_SHARE = 0.25


def score_doubt(
    scores: npt.NDArray[np.float32], near_misses: npt.NDArray[np.float32], threshold: float
) -> float:
    """Doubt from scores near the threshold, above it (counted) and below it (not)."""
    above = np.clip(1.0 - (scores - threshold) / SCORE_BAND, 0.0, 1.0)
    below = np.clip(1.0 - (threshold - near_misses) / SCORE_BAND, 0.0, 1.0)
    return 0.5 * float(above.sum() + below.sum())


def layout_doubt(boxes: npt.NDArray[np.float32]) -> float:
    """Doubt from heavily overlapping pairs and from boxes twice the typical size."""
    if len(boxes) < 2:
        return 0.0
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    lt = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clip(0).prod(2)
    iou = inter / np.maximum(areas[:, None] + areas[None, :] - inter, 1e-6)
    pairs = int(np.triu(iou > OVERLAP_IOU, 1).sum())
    large = int((areas > LARGE_BOX * np.median(areas)).sum()) if len(boxes) >= 4 else 0
    return 0.5 * pairs + 0.5 * large


def edge_doubt(distances_px: npt.NDArray[np.float64], sizes_px: npt.NDArray[np.float64]) -> float:
    """Doubt from anchors within a quarter of their animal's size of the zone's edge."""
    near = np.abs(distances_px) < EDGE_SHARE * np.maximum(sizes_px, 1.0)
    return 0.5 * float(near.sum())


def as_confidence(doubt: float) -> float:
    return float(np.exp(-max(doubt, 0.0)))
