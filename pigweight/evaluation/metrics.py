"""Count errors over a set, and one-to-one matching of labelled animals to detections."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from skimage.draw import polygon as fill_polygon

from pigweight.domain import Detections
from pigweight.evaluation.labels import AnimalLabels, Outline

IOU_MATCH = 0.5  # a labelled region and a detection are the same animal at IoU >= 0.5


@dataclass(frozen=True, slots=True)
class CountErrors:
    """How far predicted counts are from the truth, over a set of images."""

    mae: float  # animals per image
    rmse: float  # animals per image
    exact: float  # fraction 0-1 of images counted exactly
    within1: float  # fraction 0-1 of images off by at most one animal


def count_errors(true: Sequence[int], predicted: Sequence[int]) -> CountErrors:
    """Errors of `predicted` against `true`, image by image; all zero for no images."""
    if len(true) != len(predicted):
        raise ValueError(f"{len(true)} true counts for {len(predicted)} predictions")
    if not true:
        return CountErrors(0.0, 0.0, 0.0, 0.0)
    errors = np.abs(np.asarray(predicted, np.float64) - np.asarray(true, np.float64))
    return CountErrors(
        mae=float(errors.mean()),
        rmse=math.sqrt(float((errors**2).mean())),
        exact=float((errors == 0).mean()),
        within1=float((errors <= 1).mean()),
    )


def ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator, and 1.0 for 0/0: nothing to find, nothing wrongly claimed."""
    return numerator / denominator if denominator else 1.0


def match_labels(labels: AnimalLabels, detections: Detections, frame_hw: tuple[int, int]) -> int:
    """How many labelled animals are found, each by a different detection."""
    if len(labels) == 0 or len(detections) == 0:
        return 0
    masks = _usable_masks(detections, frame_hw)
    if labels.kind == "points":
        weights = _point_hits(labels.points, detections, masks).astype(np.float64)
    elif labels.kind == "boxes" and masks is None:
        weights = _box_iou(np.stack([_bounds(o) for o in labels.outlines]), detections.boxes)
    else:
        weights = _region_iou(labels.outlines, detections, masks, frame_hw)
    if labels.kind != "points":
        weights[weights < IOU_MATCH] = 0.0
    return _one_to_one(weights)


def _usable_masks(
    detections: Detections, frame_hw: tuple[int, int]
) -> npt.NDArray[np.bool_] | None:
    masks = detections.outline_masks()
    if masks is None or masks.shape[1:] != frame_hw:
        return None  # no masks, or masks of another size: judge by boxes
    return masks


def _one_to_one(weights: npt.NDArray[np.float64]) -> int:
    """Matches of the assignment that maximises the total weight; zero weight is no match."""
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return int(np.count_nonzero(weights[rows, cols] > 0))


def _point_hits(
    points: npt.NDArray[np.float32],
    detections: Detections,
    masks: npt.NDArray[np.bool_] | None,
) -> npt.NDArray[np.bool_]:
    """(K, N): point k lies on detection n (its mask, or its box when there is no mask)."""
    if masks is not None:
        h, w = masks.shape[1:]
        xs = np.clip(np.floor(points[:, 0]).astype(np.int64), 0, w - 1)
        ys = np.clip(np.floor(points[:, 1]).astype(np.int64), 0, h - 1)
        return masks[:, ys, xs].T
    x, y = points[:, 0:1], points[:, 1:2]
    b = detections.boxes
    return (x >= b[:, 0]) & (x <= b[:, 2]) & (y >= b[:, 1]) & (y <= b[:, 3])


def _bounds(outline: Outline) -> npt.NDArray[np.float32]:
    return np.concatenate([outline.min(axis=0), outline.max(axis=0)]).astype(np.float32)


def _box_iou(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """(K, N) IoU of xyxy boxes `a` (K, 4) and `b` (N, 4)."""
    a64, b64 = a.astype(np.float64)[:, None, :], b.astype(np.float64)[None, :, :]
    iw = np.clip(
        np.minimum(a64[..., 2], b64[..., 2]) - np.maximum(a64[..., 0], b64[..., 0]), 0, None
    )
    ih = np.clip(
        np.minimum(a64[..., 3], b64[..., 3]) - np.maximum(a64[..., 1], b64[..., 1]), 0, None
    )
    inter = iw * ih
    area_a = (a64[..., 2] - a64[..., 0]) * (a64[..., 3] - a64[..., 1])
    area_b = (b64[..., 2] - b64[..., 0]) * (b64[..., 3] - b64[..., 1])
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _region_iou(
    outlines: Sequence[Outline],
    detections: Detections,
    masks: npt.NDArray[np.bool_] | None,
    frame_hw: tuple[int, int],
) -> npt.NDArray[np.float64]:
    """(K, N) pixel IoU of each labelled outline with each detection's mask (or box)."""
    if masks is None:
        masks = np.stack([_rasterise(_box_corners(b), frame_hw) for b in detections.boxes])
    iou = np.zeros((len(outlines), len(masks)), np.float64)
    areas: dict[int, int] = {}
    for k, outline in enumerate(outlines):
        label = _rasterise(outline, frame_hw)
        ys, xs = np.nonzero(label.any(axis=1))[0], np.nonzero(label.any(axis=0))[0]
        if not len(ys):
            continue  # the outline lies outside the frame: nothing can match it
        y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
        # Only detections whose box reaches the label's window can overlap it; a poor
        # segmenter may return thousands of instances, so the rest are never touched.
        b = detections.boxes
        near = np.nonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0))[0]
        if not len(near):
            continue
        inter = (masks[near, y0:y1, x0:x1] & label[y0:y1, x0:x1]).sum(axis=(1, 2))
        for n in near:
            if int(n) not in areas:
                areas[int(n)] = int(np.count_nonzero(masks[n]))
        union = np.array([areas[int(n)] for n in near]) + int(label.sum()) - inter
        iou[k, near] = np.divide(inter, union, out=np.zeros(len(near)), where=union > 0)
    return iou


def _box_corners(box: npt.NDArray[np.float32]) -> Outline:
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def _rasterise(outline: Outline, frame_hw: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Pixels whose centre lies inside the outline; a 10 x 10 px box covers 100 pixels."""
    mask = np.zeros(frame_hw, bool)
    # Pixel (col, row) has its centre at (col + 0.5, row + 0.5) in label coordinates.
    rows, cols = fill_polygon(outline[:, 1] - 0.5, outline[:, 0] - 0.5, frame_hw)
    mask[rows, cols] = True
    return mask
