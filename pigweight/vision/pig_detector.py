"""The default counter: PigWeight's own pig detector (`SEGMENTER=pig`).

A YOLOX-Nano detector trained by `pigweight train` and shipped in `pigweight/models/`,
exported in the YOLO11 detect layout, so it runs through `YoloOnnxSegmenter` (the same
letterbox, decoding and NMS as a farm's own YOLO export). It gives boxes; each animal's
outline for the overlay is the ellipse inscribed in its box, which fits the hand-drawn
polygons of `pig_seg_roboflow` better than the skin-colour model inside the box
(mean IoU 0.674 against 0.627, `bench/masks.py`) at a hundredth of the cost.
`MODEL_PATH` (or a camera's `model:`) swaps in a farm's fine-tuned model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from pigweight.domain import Detections, Image
from pigweight.settings import VisionSettings
from pigweight.vision.box_masks import ellipse_masks
from pigweight.vision.count_confidence import SCORE_BAND, layout_doubt, score_doubt
from pigweight.vision.pig_model import DEFAULT_MODEL
from pigweight.vision.yolo_onnx import YoloOnnxSegmenter

logger = logging.getLogger(__name__)


class PigSegmenter:
    """Boxes and scores from the pig detector, ellipse outlines for the overlay."""

    name = "pig"

    def __init__(self, detector: YoloOnnxSegmenter) -> None:
        self.detector = detector
        self.threshold = detector.conf_threshold
        # candidates just under the threshold are decoded too: they are doubt, not animals
        detector.keep_scores_from(max(0.01, self.threshold - SCORE_BAND))

    @classmethod
    def from_settings(cls, vision: VisionSettings) -> PigSegmenter:
        return cls(YoloOnnxSegmenter.from_settings(vision, default_model=DEFAULT_MODEL))

    @property
    def model_path(self) -> Path:
        return self.detector.model_path

    @property
    def conf_threshold(self) -> float:
        return self.threshold

    def segment(self, image: Image) -> Detections:
        return self._finish(self.detector.segment(image))

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        return [self._finish(d) for d in self.detector.segment_batch(images)]

    def _finish(self, found: Detections) -> Detections:
        """The animals above the threshold, their outlines, and the frame's doubt."""
        counted = found.scores >= self.threshold
        animals = found.select(counted)
        if animals.masks is None:  # drawn when shown: the count does not wait for them
            animals.outline = ellipse_masks
        animals.doubt = score_doubt(
            animals.scores, found.scores[~counted], self.threshold
        ) + layout_doubt(animals.boxes)
        return animals


def default_model_present() -> bool:
    return DEFAULT_MODEL.is_file()
