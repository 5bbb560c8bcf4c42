"""An outline for each detected animal when the detector gives boxes only: the ellipse
inscribed in its box. Measured against `pig_seg_roboflow`'s hand-drawn polygons, it beats
the classic skin-colour model inside the box (`bench/masks.py`, which holds that one).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Masks = npt.NDArray[np.bool_]


def ellipse_masks(boxes: npt.NDArray[np.float32], frame_hw: tuple[int, int]) -> Masks:
    """(N, H, W): the ellipse inscribed in each xyxy box."""
    masks = np.zeros((len(boxes), *frame_hw), bool)
    for mask, box in zip(masks, boxes, strict=True):
        _draw_ellipse(mask, box)
    return masks


def _draw_ellipse(mask: Masks, box: npt.NDArray[np.float32]) -> None:
    x1, y1, x2, y2 = (float(v) for v in box)
    canvas = mask.view(np.uint8)
    centre = (round((x1 + x2) / 2), round((y1 + y2) / 2))
    axes = (max(1, round((x2 - x1) / 2)), max(1, round((y2 - y1) / 2)))
    cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1, -1)
