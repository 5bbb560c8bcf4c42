"""Built-in segmenter that needs no model weights: colour, shape and size of the scene.

Works at `classic_work_px` on the longest side; masks are scaled back to the frame.
The steps live in classic_colour (which pixels are skin) and classic_split (one region
per animal, with the animal's size measured from the scene).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.domain import Detections, Image
from pigweight.errors import InvalidImage
from pigweight.settings import Settings
from pigweight.vision.classic_colour import skin_map
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
    def from_settings(cls, settings: Settings) -> ClassicSegmenter:
        return cls(work_px=settings.classic_work_px)

    def segment(self, image: Image) -> Detections:
        """One instance per animal in an RGB frame; masks at frame size."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InvalidImage(
                f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}: "
                "decode the picture with pigweight.media.images.load_image"
            )
        frame_shape = (int(image.shape[0]), int(image.shape[1]))
        work = self._to_work_size(image)
        labels, size, margin = self._label_animals(work)
        if size is None or int(labels.max()) == 0:
            return Detections.empty(frame_shape)
        return _to_detections(labels, margin, size, frame_shape)

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        return [self.segment(im) for im in images]

    def _to_work_size(self, image: Image) -> Image:
        longest = max(image.shape[:2])
        if longest <= self.work_px:
            return np.ascontiguousarray(image)
        scale = self.work_px / longest
        resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(resized)

    def _label_animals(
        self, work: Image
    ) -> tuple[Labels, AnimalSize | None, npt.NDArray[np.float32]]:
        skin = skin_map(work)
        first = np.asarray(
            cv2.morphologyEx(skin.mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.uint8
        )
        size = estimate_size(first)
        if size is None:
            return np.zeros(work.shape[:2], np.int32), None, skin.margin
        mask = cut_seams(clean_mask(first, size), skin.lightness, size)
        logger.debug(
            "classic: half-width %.1f px, animal %.0f px, colour=%s",
            size.half_width_px,
            size.area_px,
            skin.uses_colour,
        )
        return split_regions(mask, size), size, skin.margin


# A region whose skin evidence is below this fraction of the scene's typical animal is
# a bright fitting (feeder, wall, painted line), not a pig: the animals of one pen share
# one colour, the fittings do not.
_MIN_RELATIVE_SKIN = 0.7


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
    for i in ids:
        relative_skin = skin[i] / typical if typical > 0 else 0.0
        if relative_skin < _MIN_RELATIVE_SKIN:
            continue
        size_fit = min(areas[i], size.area_px) / max(areas[i], size.area_px)
        scores[i] = float(np.clip(0.5 * min(relative_skin, 1.0) + 0.5 * size_fit, 0.0, 1.0))
    return scores


def _to_detections(
    labels: Labels,
    margin: npt.NDArray[np.float32],
    size: AnimalSize,
    frame_shape: tuple[int, int],
) -> Detections:
    """Full-frame masks, boxes and scores of the accepted regions."""
    height, width = frame_shape
    scores = _region_scores(labels, margin, size)
    if not scores:
        return Detections.empty(frame_shape)
    full = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    masks = np.zeros((len(scores), height, width), bool)
    boxes = np.zeros((len(scores), 4), np.float32)
    for row, region in enumerate(scores):
        x, y, w, h = cv2.boundingRect((full == region).astype(np.uint8))
        masks[row, y : y + h, x : x + w] = full[y : y + h, x : x + w] == region
        boxes[row] = (x, y, x + w, y + h)
    return Detections(
        boxes=boxes,
        scores=np.array(list(scores.values()), np.float32),
        class_ids=np.zeros(len(scores), np.int64),
        masks=masks,
        frame_shape=frame_shape,
    )
