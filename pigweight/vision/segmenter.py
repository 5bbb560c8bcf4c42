"""The Segmenter protocol and the factory that picks one from settings."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pigweight.domain import Detections, Image
from pigweight.settings import VisionSettings

logger = logging.getLogger(__name__)


@runtime_checkable
class Segmenter(Protocol):
    """Finds the animals in RGB frames and returns one instance per animal."""

    name: str

    def segment(self, image: Image) -> Detections:
        """Detections of one `(H, W, 3) uint8` RGB frame; masks at frame size."""
        ...

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        """Detections of several frames, in order (may run them as one batch)."""
        ...


def create_segmenter(vision: VisionSettings, name: str | None = None) -> Segmenter:
    """Build the segmenter named in the vision settings (or `name`); raises ModelLoadError."""
    chosen = name or vision.segmenter
    if chosen == "pig":
        from pigweight.vision.pig_detector import PigSegmenter, default_model_present

        if vision.model_path is not None or default_model_present():
            return PigSegmenter.from_settings(vision)
        logger.warning(
            "SEGMENTER=pig: the shipped model pigweight/models/pig_yolox_nano.onnx is missing "
            "(rebuild it with `pigweight train --recipe default`); counting with 'classic'"
        )
        chosen = "classic"
    if chosen == "classic":
        from pigweight.vision.classic import ClassicSegmenter

        return ClassicSegmenter.from_settings(vision)
    if chosen == "yolo_onnx":
        from pigweight.vision.yolo_onnx import YoloOnnxSegmenter

        return YoloOnnxSegmenter.from_settings(vision)
    raise ValueError(f"unknown segmenter {chosen!r}: use 'pig', 'classic' or 'yolo_onnx'")
