"""Augmentation and the letterboxed network input of one training sample.

The input is made by the same letterbox as at run time (`vision/yolo_letterbox.py`: centred,
grey 114, RGB 0-1), so the model learns exactly what the counter will feed it. On top:
flips and quarter turns (a camera can hang any way over a platform), a random crop and zoom
(animals from 25 to 200 pixels long), colour and brightness, infrared grey, blur, and a 2x2
mosaic of four samples so that crowds of small animals are common.

Fine-tuning on one fixed camera (`AUGMENT["camera"]`) keeps what that camera can really
show (left-right mirror, crop and zoom, day and infrared light) and leaves out what it
cannot: upside-down and quarter-turned pictures, and mosaics that shrink its animals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from pigweight.domain import Image
from pigweight.training.data import Boxes
from pigweight.vision.yolo_letterbox import plan_letterbox, write_input

MIN_BOX_PX = 3.0  # boxes thinner than this after scaling are dropped
KEEP_INSIDE = 0.45  # a box cut by a crop is kept when this share of it stays inside
MOSAIC_P = 0.4
GREY_P = 0.2


@dataclass(frozen=True)
class AugmentPlan:
    mosaic_p: float
    turns: bool  # upside-down and quarter turns as well as the left-right mirror


AUGMENT = {
    "full": AugmentPlan(mosaic_p=MOSAIC_P, turns=True),  # many cameras, any mounting
    "camera": AugmentPlan(mosaic_p=0.0, turns=False),  # one fixed camera's own frames
}


def to_input(image: Image, boxes: Boxes, input_hw: tuple[int, int]) -> tuple[np.ndarray, Boxes]:
    """(3, H, W) float32 RGB 0-1 and the boxes in input pixels (the run-time letterbox)."""
    box = plan_letterbox(image.shape[:2], input_hw, 32, minimal_pad=False)
    tensor = np.empty((3, *input_hw), np.float32)
    write_input(tensor, np.ascontiguousarray(image), box)
    sx, sy = box.scale_xy
    out = boxes * np.array([sx, sy, sx, sy], np.float32)
    out += np.array([box.pad_left, box.pad_top] * 2, np.float32)
    return tensor, _clean(out, input_hw[1], input_hw[0])


def camera_input_hw(frames_hw: set[tuple[int, int]], imgsz: int) -> tuple[int, int]:
    """The network input one camera's frames get at run time: (imgsz, imgsz) with the
    padding cut to the stride (`plan_batch`), 640x360 at 416 -> 256x416, 40 % of the work
    of a square. Frames of several shapes get the square."""
    if len(frames_hw) != 1:
        return imgsz, imgsz
    return plan_letterbox(next(iter(frames_hw)), (imgsz, imgsz), 32, minimal_pad=True).input_hw


def augmented_input(
    load: Callable[[], tuple[Image, Boxes]],
    more: Callable[[], tuple[Image, Boxes]],
    input_hw: tuple[int, int],
    rng: np.random.Generator,
    plan: AugmentPlan = AUGMENT["full"],
) -> tuple[np.ndarray, Boxes]:
    """One augmented training input; `more` gives further samples for a mosaic."""
    if plan.mosaic_p and rng.random() < plan.mosaic_p:
        image, boxes = _mosaic([load(), more(), more(), more()], min(input_hw), rng)
    else:
        image, boxes = _crop_zoom(*load(), rng)
    image, boxes = _turn(image, boxes, rng, plan.turns)
    image = _colour(image, rng)
    return to_input(image, boxes, input_hw)


def _mosaic(
    parts: list[tuple[Image, Boxes]], size: int, rng: np.random.Generator
) -> tuple[Image, Boxes]:
    half = size // 2
    canvas = np.full((2 * half, 2 * half, 3), 114, np.uint8)
    all_boxes = []
    for k, (image, boxes) in enumerate(parts):
        image, boxes = _crop_zoom(image, boxes, rng)
        gain = half / max(image.shape[:2])
        h, w = max(1, round(image.shape[0] * gain)), max(1, round(image.shape[1] * gain))
        oy, ox = (k // 2) * half, (k % 2) * half
        canvas[oy : oy + h, ox : ox + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        all_boxes.append(boxes * gain + np.array([ox, oy, ox, oy], np.float32))
    return canvas, np.concatenate(all_boxes).astype(np.float32)


def _crop_zoom(image: Image, boxes: Boxes, rng: np.random.Generator) -> tuple[Image, Boxes]:
    """A random window of 55-100 % of each side (the whole image half the time)."""
    if rng.random() < 0.5:
        return image, boxes
    h, w = image.shape[:2]
    ch, cw = round(h * rng.uniform(0.55, 1.0)), round(w * rng.uniform(0.55, 1.0))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = image[y0 : y0 + ch, x0 : x0 + cw]
    moved = boxes - np.array([x0, y0, x0, y0], np.float32)
    clipped = moved.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, cw)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, ch)
    keep = _area(clipped) >= KEEP_INSIDE * np.maximum(_area(moved), 1e-6)
    return crop, clipped[keep]


def _turn(
    image: Image, boxes: Boxes, rng: np.random.Generator, turns: bool = True
) -> tuple[Image, Boxes]:
    if rng.random() < 0.5:
        image = image[:, ::-1]
        boxes = boxes[:, [2, 1, 0, 3]] * np.array([-1, 1, -1, 1], np.float32)
        boxes[:, [0, 2]] += image.shape[1]
    if not turns:
        return np.ascontiguousarray(image), boxes.astype(np.float32)
    if rng.random() < 0.5:
        image = image[::-1]
        boxes = boxes[:, [0, 3, 2, 1]] * np.array([1, -1, 1, -1], np.float32)
        boxes[:, [1, 3]] += image.shape[0]
    if rng.random() < 0.5:  # a quarter turn: (x, y) -> (y, W - x)
        w = image.shape[1]
        image = np.rot90(image)
        boxes = np.stack([boxes[:, 1], w - boxes[:, 2], boxes[:, 3], w - boxes[:, 0]], 1)
    return np.ascontiguousarray(image), boxes.astype(np.float32)


def _colour(image: Image, rng: np.random.Generator) -> Image:
    if rng.random() < GREY_P:  # infrared night picture
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        image = np.repeat(grey[:, :, None], 3, axis=2)
    else:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
        hsv[..., 1] *= rng.uniform(0.6, 1.4)
        hsv[..., 2] *= rng.uniform(0.6, 1.4)
        image = np.asarray(
            cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB), np.uint8
        )
    if rng.random() < 0.15:
        image = np.asarray(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5)), np.uint8)
    return image


def _area(boxes: Boxes) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)


def _clean(boxes: Boxes, w: int, h: int) -> Boxes:
    boxes = boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= MIN_BOX_PX) & ((boxes[:, 3] - boxes[:, 1]) >= MIN_BOX_PX)
    return boxes[keep]
