"""Built-in segmenter that needs no model weights: colour, shape and size of the scene.

Works at `classic_work_px` on the longest side; masks are scaled back to the frame.
The steps live in classic_colour (which pixels are skin), classic_split (one region
per animal, with the animal's size measured from the scene) and classic_refine (legs,
ears and rims given back to each animal's mask).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from pigweight.domain import Detections, Image
from pigweight.errors import InvalidImage
from pigweight.settings import VisionSettings
from pigweight.vision.classic_colour import skin_map
from pigweight.vision.classic_refine import grow_to_skin
from pigweight.vision.classic_split import (
    AnimalSize,
    Labels,
    clean_mask,
    cut_seams,
    estimate_size,
    split_regions,
)

logger = logging.getLogger(__name__)


class ClassicSegmenter:
    """Finds pink/white (or IR-bright) animals on a pen floor, one mask per animal."""

    name = "classic"

    def __init__(self, work_px: int = 1280) -> None:
        self.work_px = work_px

    @classmethod
    def from_settings(cls, vision: VisionSettings) -> ClassicSegmenter:
        return cls(work_px=vision.classic_work_px)

    def segment(self, image: Image) -> Detections:
        """One instance per animal in an RGB frame; masks at frame size."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InvalidImage(
                f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}: "
                "decode the picture with pigweight.media.images.load_image"
            )
        frame_shape = (int(image.shape[0]), int(image.shape[1]))
        work = self._to_work_size(image)
        found = self._label_animals(work)
        if found is None:
            return Detections.empty(frame_shape)
        bodies, whole, size, margin = found
        return _to_detections(whole, _region_scores(bodies, margin, size), frame_shape)

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        """Frames segmented side by side, one per core: OpenCV and NumPy release the GIL
        for most of the work (about 2x on 2 cores for the video indexer's batches)."""
        workers = min(len(images), os.cpu_count() or 1)
        if workers < 2:
            return [self.segment(im) for im in images]
        with ThreadPoolExecutor(workers, thread_name_prefix="classic-batch") as pool:
            return list(pool.map(self.segment, images))

    def _to_work_size(self, image: Image) -> Image:
        longest = max(image.shape[:2])
        if longest <= self.work_px:
            return np.ascontiguousarray(image)
        scale = self.work_px / longest
        resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(resized)

    def _label_animals(
        self, work: Image
    ) -> tuple[Labels, Labels, AnimalSize, npt.NDArray[np.float32]] | None:
        """Body labels (for scoring), whole-animal labels (for masks), size and skin margin."""
        skin = skin_map(work)
        first = np.asarray(
            cv2.morphologyEx(skin.mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.uint8
        )
        found = estimate_size(first)
        if found is None:
            return None
        size, opened = found
        mask = cut_seams(clean_mask(opened, size), skin.lightness, size)
        logger.debug(
            "classic: half-width %.1f px, animal %.0f px, colour=%s",
            size.half_width_px,
            size.area_px,
            skin.uses_colour,
        )
        bodies = split_regions(mask, size)
        if int(bodies.max()) == 0:
            return None
        # The same 5x5 majority vote as the skin mask: floor noise passes the weak test in
        # isolated specks, an animal's rim in a band.
        weak = np.asarray(
            cv2.medianBlur((skin.margin > -_WEAK_SKIN_MARGIN).astype(np.uint8), 5), np.uint8
        )
        support = ((first > 0) | (weak > 0)).astype(np.uint8)
        return bodies, grow_to_skin(bodies, support, size), size, skin.margin


# A region whose skin evidence is below this fraction of the scene's typical animal is
# a bright fitting (feeder, wall, painted line), not a pig: the animals of one pen share
# one colour, the fittings do not.
_MIN_RELATIVE_SKIN = 0.3
# Outlines are grown over weaker evidence than the bodies need (hysteresis): the rim of
# an animal is darker and less pink than its back, but still unlike the floor.
_WEAK_SKIN_MARGIN = 0.3


# An animal counts when at least half of it is inside the frame; one cut by the frame's
# edge to less than this share of a typical animal is mostly outside.
_MIN_INSIDE_SHARE = 0.5


# A group scale or pen holds 10-60 animals, so no animal spans this share of the frame's
# width or height, nor is longer than this many times the side of a square of its area;
# a region that does both is a wall, an aisle or a trough.
_MAX_FRAME_SHARE = 0.4
_MAX_LENGTH_PER_SIDE = 3.0


def _not_animals(
    labels: Labels, areas: npt.NDArray[np.float64], size: AnimalSize
) -> npt.NDArray[np.bool_]:
    """Per region: mostly outside the frame (cut by its edge to under half an animal), or
    a fixture as long as a good part of the frame."""
    edge = np.zeros(len(areas), bool)
    for line in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        edge[line] = True
    rejected = edge & (areas < _MIN_INSIDE_SHARE * size.area_px)
    height, width = labels.shape
    longest_px = _MAX_LENGTH_PER_SIDE * float(np.sqrt(size.area_px))
    for region, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None or region >= len(areas):
            continue
        ys, xs = box
        rows, cols = ys.stop - ys.start, xs.stop - xs.start
        spans = rows > _MAX_FRAME_SHARE * height or cols > _MAX_FRAME_SHARE * width
        rejected[region] |= spans and max(rows, cols) > longest_px
    return rejected


def _region_scores(
    labels: Labels, margin: npt.NDArray[np.float32], size: AnimalSize
) -> dict[int, float]:
    """0-1 per region: how much it looks like one whole animal of this scene."""
    flat = labels.ravel()
    areas = np.bincount(flat).astype(np.float64)
    sums = np.bincount(flat, weights=margin.ravel().astype(np.float64), minlength=len(areas))
    ids = [i for i in range(1, len(areas)) if areas[i] > 0]
    if not ids:
        return {}
    skin = {i: sums[i] / areas[i] for i in ids}
    typical = float(np.median([skin[i] for i in ids]))
    scores: dict[int, float] = {}
    rejected = _not_animals(labels, areas, size)
    for i in ids:
        relative_skin = skin[i] / typical if typical > 0 else 0.0
        if relative_skin < _MIN_RELATIVE_SKIN or rejected[i]:
            continue
        size_fit = min(areas[i], size.area_px) / max(areas[i], size.area_px)
        scores[i] = float(np.clip(0.5 * min(relative_skin, 1.0) + 0.5 * size_fit, 0.0, 1.0))
    return scores


def _to_detections(
    labels: Labels, scores: dict[int, float], frame_shape: tuple[int, int]
) -> Detections:
    """Full-frame masks and boxes of the accepted regions."""
    if not scores:
        return Detections.empty(frame_shape)
    # One pass over the label image gives every region's bounding box.
    slices = ndimage.find_objects(labels)
    masks = np.zeros((len(scores), *frame_shape), bool)
    boxes = np.zeros((len(scores), 4), np.float32)
    for row, region in enumerate(scores):
        box = slices[region - 1] if region - 1 < len(slices) else None
        if box is None:
            continue
        ys, xs = _frame_mask(labels, region, box, masks[row])
        boxes[row] = (xs.start, ys.start, xs.stop, ys.stop)
    return Detections(
        boxes=boxes,
        scores=np.array(list(scores.values()), np.float32),
        class_ids=np.zeros(len(scores), np.int64),
        masks=masks,
        frame_shape=frame_shape,
    )


def _frame_mask(
    labels: Labels, region: int, box: tuple[slice, slice], out: npt.NDArray[np.bool_]
) -> tuple[slice, slice]:
    """Write one region's mask at frame size into `out`; return its box there.

    Scaled up by interpolating the region's 0/1 indicator (not by repeating pixels), so
    the outline stays smooth at frame resolution.
    """
    height, width = out.shape
    if labels.shape == out.shape:
        out[box] = labels[box] == region
        return box
    sy, sx = height / labels.shape[0], width / labels.shape[1]
    y0, x0 = max(box[0].start - 1, 0), max(box[1].start - 1, 0)
    y1, x1 = min(box[0].stop + 1, labels.shape[0]), min(box[1].stop + 1, labels.shape[1])
    crop = (labels[y0:y1, x0:x1] == region).astype(np.float32)
    top, left = int(y0 * sy), int(x0 * sx)
    bottom, right = min(height, int(np.ceil(y1 * sy))), min(width, int(np.ceil(x1 * sx)))
    # Frame pixel X samples the work image at (X + 0.5) / sx - 0.5 (pixel centres).
    warp = np.array(
        [[1 / sx, 0, (left + 0.5) / sx - 0.5 - x0], [0, 1 / sy, (top + 0.5) / sy - 0.5 - y0]],
        np.float64,
    )
    scaled = cv2.warpAffine(
        crop,
        warp,
        (right - left, bottom - top),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    out[top:bottom, left:right] = scaled > 0.5
    ys, xs = (
        np.nonzero(out[top:bottom, left:right].any(1))[0],
        np.nonzero(out[top:bottom, left:right].any(0))[0],
    )
    if not len(ys):
        return slice(top, top), slice(left, left)
    return slice(top + ys[0], top + ys[-1] + 1), slice(left + xs[0], left + xs[-1] + 1)
