"""Draw what was counted: pastel masks, an id per animal, the count.

The same picture operators know from the prototype, and the evidence snapshot of a weighing.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.domain import Detections, Image
from pigweight.vision.zone import Zone

_MASK_ALPHA = 0.45
_OUTSIDE = (150, 150, 150)  # animals outside the platform zone: seen, not counted
ZONE_RGB = (80, 200, 255)  # the zone's line: saturated sky blue (outlines are pale)


def pastel(index: int) -> tuple[int, int, int]:
    """A soft RGB colour, distinct for neighbouring indices (golden-ratio hue walk)."""
    hue = (index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.45, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def instance_ids(detections: Detections) -> list[int]:
    """The number shown on each animal: its track id when tracked, else 1..N."""
    if detections.track_ids is not None:
        return [int(t) for t in detections.track_ids]
    return list(range(1, len(detections) + 1))


def draw_overlay(
    image: Image,
    detections: Detections,
    count: int | None = None,
    inside: npt.NDArray[np.bool_] | None = None,
    zone: Zone | None = None,
) -> Image:
    """A copy of `image` with masks (or boxes), ids and the count drawn on it.

    `inside` (N,) marks the animals on the platform: the others are drawn grey, without an
    id, and not counted; `zone` is outlined so the operator sees where counting stops.
    """
    out = image.copy()
    h, w = out.shape[:2]
    flags = np.ones(len(detections), bool) if inside is None else np.asarray(inside, bool)
    ids = instance_ids(detections)
    colours = [pastel(ids[i]) if flags[i] else _OUTSIDE for i in range(len(detections))]
    scale = max(h, w) / 1280.0
    thickness = max(1, round(2 * scale))
    masks = detections.outline_masks()
    if masks is not None and len(detections):
        # Work on each mask's bounding box: full-frame passes per animal cost ~100 ms at 720p,
        # which the live cameras pay on every counted frame.
        boxes = [_mask_box(mask) for mask in masks]
        tint = out.astype(np.float32)
        for i, mask in enumerate(masks):
            if boxes[i] is None:
                continue
            colour = np.array(colours[i], np.float32)
            region, inside = tint[boxes[i]], mask[boxes[i]]
            region[inside] = region[inside] * (1 - _MASK_ALPHA) + colour * _MASK_ALPHA
        out = tint.astype(np.uint8)
        for i, mask in enumerate(masks):
            box = boxes[i]
            if box is None:
                continue
            contours, _ = cv2.findContours(
                mask[box].astype(np.uint8),
                cv2.RETR_EXTERNAL,
                cv2.CHAIN_APPROX_SIMPLE,
                offset=(box[1].start, box[0].start),
            )
            cv2.drawContours(out, contours, -1, colours[i], thickness, cv2.LINE_AA)
    else:
        for i, (x1, y1, x2, y2) in enumerate(detections.boxes):
            p1, p2 = (int(x1), int(y1)), (int(x2), int(y2))
            cv2.rectangle(out, p1, p2, colours[i], thickness, cv2.LINE_AA)
    if zone is not None:
        outline = np.round(zone.pixels((h, w))).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [outline], True, ZONE_RGB, thickness, cv2.LINE_AA)
    for i, label in enumerate(ids):
        if not flags[i]:
            continue  # not counted: a number would read as one of the count
        cx, cy = _label_point(detections, i)
        _text(out, str(label), (cx, cy), 0.6 * scale + 0.2, centred=True)
    shown = int(flags.sum()) if count is None else count
    _count_badge(out, str(shown), 1.8 * scale + 0.4)
    return out


def _count_badge(image: Image, text: str, font_scale: float) -> None:
    """The count in a dark box in the top-right corner: cameras stamp the time top-left."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    thick = max(1, round(font_scale * 2))
    (tw, th), baseline = cv2.getTextSize(text, font, font_scale, thick)
    pad = max(4, th // 3)
    h, w = image.shape[:2]
    x2, y1 = w - pad, pad
    x1, y2 = x2 - tw - 2 * pad, y1 + th + baseline + 2 * pad
    region = image[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)]
    region[:] = (region * 0.35).astype(np.uint8)  # darken, so white digits read on any floor
    org = (x1 + pad, y1 + pad + th)
    cv2.putText(image, text, org, font, font_scale, (255, 255, 255), thick, cv2.LINE_AA)


def _mask_box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """Rows and columns that hold the mask (None for an empty mask)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def _label_point(detections: Detections, i: int) -> tuple[int, int]:
    masks = detections.outline_masks()
    box = None if masks is None else _mask_box(masks[i])
    if masks is not None and box is not None:
        ys, xs = np.nonzero(masks[i][box])
        ys, xs = ys + box[0].start, xs + box[1].start
        # The mask pixel nearest the centroid: always on the animal, even if it bends.
        cy, cx = ys.mean(), xs.mean()
        k = int(np.argmin((ys - cy) ** 2 + (xs - cx) ** 2))
        return int(xs[k]), int(ys[k])
    x1, y1, x2, y2 = detections.boxes[i]
    return int((x1 + x2) / 2), int((y1 + y2) / 2)


def _text(
    image: Image, text: str, org: tuple[int, int], font_scale: float, centred: bool = False
) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    thick = max(1, round(font_scale * 2))
    (tw, th), _ = cv2.getTextSize(text, font, font_scale, thick)
    x, y = org
    if centred:
        x, y = x - tw // 2, y + th // 2
    cv2.putText(image, text, (x, y), font, font_scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
    cv2.putText(image, text, (x, y), font, font_scale, (255, 255, 255), thick, cv2.LINE_AA)


def mask_outlines(detections: Detections, max_points: int = 64) -> list[list[tuple[float, float]]]:
    """One polygon per animal, as (x, y) in 0-1 of the frame size, for browsers to draw."""
    h, w = detections.frame_shape
    polygons: list[list[tuple[float, float]]] = []
    masks = detections.outline_masks()
    for i in range(len(detections)):
        if masks is not None and h and w:
            contours, _ = cv2.findContours(
                masks[i].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
            )
            if contours:
                contour = max(contours, key=cv2.contourArea)
                eps = 0.002 * cv2.arcLength(contour, True)
                while len(contour) > max_points:
                    contour = cv2.approxPolyDP(contour, eps, True)
                    eps *= 1.6
                pts = contour.reshape(-1, 2)
                polygons.append([(round(x / w, 4), round(y / h, 4)) for x, y in pts])
                continue
        x1, y1, x2, y2 = (float(v) for v in detections.boxes[i])
        sw, sh = (w or 1), (h or 1)
        polygons.append(
            [
                (round(x1 / sw, 4), round(y1 / sh, 4)),
                (round(x2 / sw, 4), round(y1 / sh, 4)),
                (round(x2 / sw, 4), round(y2 / sh, 4)),
                (round(x1 / sw, 4), round(y2 / sh, 4)),
            ]
        )
    return polygons
