"""An outline for each detected animal when the detector gives boxes only.

Two ways, measured against `pig_seg_roboflow`'s hand-drawn polygons (`bench/masks.py`):
the ellipse inscribed in each box, or the classic segmenter's skin-colour model inside
the box, kept where it agrees with the ellipse. The segmenter uses the one that measured
better (see docs/accuracy.md); both are here so the bench can compare them.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.domain import Image
from pigweight.vision.classic_colour import skin_map

Masks = npt.NDArray[np.bool_]
COLOUR_WORK_PX = 480  # the skin model runs on the frame scaled to this longest side
MIN_SKIN_SHARE = 0.35  # below this share of its ellipse, the skin is not trusted


def ellipse_masks(boxes: npt.NDArray[np.float32], frame_hw: tuple[int, int]) -> Masks:
    """(N, H, W): the ellipse inscribed in each xyxy box."""
    masks = np.zeros((len(boxes), *frame_hw), bool)
    for mask, box in zip(masks, boxes, strict=True):
        _draw_ellipse(mask, box)
    return masks


def colour_masks(image: Image, boxes: npt.NDArray[np.float32]) -> Masks:
    """(N, H, W): skin pixels inside each box's ellipse, grown a little; the ellipse where
    the skin model sees too little (an infrared or washed-out picture)."""
    frame_hw = (int(image.shape[0]), int(image.shape[1]))
    masks = ellipse_masks(boxes, frame_hw)
    if not len(boxes):
        return masks
    scale = min(1.0, COLOUR_WORK_PX / max(frame_hw))
    work = (
        image
        if scale == 1.0
        else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    )
    skin = cv2.resize(
        skin_map(np.ascontiguousarray(work)).mask,
        (frame_hw[1], frame_hw[0]),
        interpolation=cv2.INTER_NEAREST,
    ).astype(bool)
    for mask in masks:
        inside = mask & skin
        if inside.sum() >= MIN_SKIN_SHARE * max(1, mask.sum()):
            mask &= inside
    return masks


def _draw_ellipse(mask: Masks, box: npt.NDArray[np.float32]) -> None:
    x1, y1, x2, y2 = (float(v) for v in box)
    canvas = mask.view(np.uint8)
    centre = (round((x1 + x2) / 2), round((y1 + y2) / 2))
    axes = (max(1, round((x2 - x1) / 2)), max(1, round((y2 - y1) / 2)))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1, -1)
