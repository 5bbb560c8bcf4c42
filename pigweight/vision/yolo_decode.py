"""Raw YOLO head output -> the kept detections of one image (Ultralytics `non_max_suppression`).

output0 of one image is `(4 + classes + mask_dim, anchors)`: cx, cy, w, h in input pixels,
one score per class, then the mask coefficients. Everything is filtered on the score rows
before any column is gathered, so a frame with few animals costs next to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

MAX_NMS_CANDIDATES = 30000  # Ultralytics' max_nms: the best boxes that enter NMS
CLASS_OFFSET_PX = 7680.0  # Ultralytics' max_wh: shifts each class apart for class-aware NMS


@dataclass(frozen=True, slots=True)
class Kept:
    """Detections of one image in network-input pixels, best score first."""

    boxes: npt.NDArray[np.float32]  # (N, 4) xyxy, input pixels
    scores: npt.NDArray[np.float32]  # (N,)
    class_ids: npt.NDArray[np.int64]  # (N,)
    coeffs: npt.NDArray[np.float32]  # (N, mask_dim) mask coefficients; (N, 0) for detect


@dataclass(frozen=True, slots=True)
class DecodeParams:
    """Thresholds and the class filter, fixed for the life of a segmenter."""

    class_count: int
    mask_dim: int
    conf_threshold: float
    iou_threshold: float
    class_ids: npt.NDArray[np.int64]  # classes that count as pigs
    max_detections: int


def decode(pred: npt.NDArray[np.float32], params: DecodeParams) -> Kept:
    """Confidence filter, best class, class filter, class-aware NMS, top max_detections."""
    nc = params.class_count
    if pred.shape[0] != 4 + nc + params.mask_dim:
        raise ValueError(f"output0 has {pred.shape[0]} rows, expected {4 + nc + params.mask_dim}")
    class_scores = pred[4 : 4 + nc]
    if nc == 1:
        best_class = None
        best_score = class_scores[0]
    else:
        best_class = class_scores.argmax(axis=0)
        best_score = np.take_along_axis(class_scores, best_class[None], axis=0)[0]
    index = np.flatnonzero(best_score > params.conf_threshold)
    class_ids = np.zeros(index.size, np.int64) if best_class is None else best_class[index]
    wanted = np.isin(class_ids, params.class_ids)
    index, class_ids = index[wanted], class_ids[wanted]
    scores = best_score[index].astype(np.float32)
    if index.size > MAX_NMS_CANDIDATES:
        top = np.argsort(-scores, kind="stable")[:MAX_NMS_CANDIDATES]
        index, class_ids, scores = index[top], class_ids[top], scores[top]
    columns = pred[:, index].T  # (K, C): only the candidates are gathered
    boxes = xywh_to_xyxy(columns[:, :4])
    keep = nms(boxes, scores, class_ids, params.iou_threshold)[: params.max_detections]
    coeffs = columns[keep, 4 + nc :].astype(np.float32, copy=False)
    return Kept(boxes=boxes[keep], scores=scores[keep], class_ids=class_ids[keep], coeffs=coeffs)


def xywh_to_xyxy(xywh: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(N, 4) centre x, centre y, width, height -> x1, y1, x2, y2."""
    out = np.empty((len(xywh), 4), np.float32)
    half = xywh[:, 2:4] / 2
    out[:, :2] = xywh[:, :2] - half
    out[:, 2:] = xywh[:, :2] + half
    return out


def nms(
    boxes: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int64],
    iou_threshold: float,
) -> npt.NDArray[np.int64]:
    """Indices kept by greedy class-aware NMS, best score first.

    A box is dropped when its IoU with a better box of the same class exceeds the
    threshold (as torchvision.ops.nms); boxes of different classes never suppress each
    other because each class is shifted by CLASS_OFFSET_PX.
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    shifted = boxes.astype(np.float64) + (class_ids * CLASS_OFFSET_PX)[:, None]
    xywh = np.concatenate([shifted[:, :2], shifted[:, 2:] - shifted[:, :2]], axis=1)
    # OpenCV's C++ greedy NMS: same rule as torchvision, no Python loop per box.
    kept = cv2.dnn.NMSBoxes(cast(Any, xywh), cast(Any, scores), 0.0, float(iou_threshold))
    return np.asarray(kept, dtype=np.int64).reshape(-1)
