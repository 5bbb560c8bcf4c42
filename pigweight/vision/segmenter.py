"""The Segmenter protocol and the factory that picks one from settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pigweight.domain import Detections, Image
from pigweight.settings import Settings


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


def create_segmenter(settings: Settings, name: str | None = None) -> Segmenter:
    """Build the segmenter named in settings (or `name`); raises ModelLoadError."""
    chosen = name or settings.segmenter
    if chosen == "classic":
        from pigweight.vision.classic import ClassicSegmenter

        return ClassicSegmenter.from_settings(settings)
    if chosen == "yolo_onnx":
        from pigweight.vision.yolo_onnx import YoloOnnxSegmenter

        return YoloOnnxSegmenter.from_settings(settings)
    raise ValueError(f"unknown segmenter {chosen!r}: use 'classic' or 'yolo_onnx'")
