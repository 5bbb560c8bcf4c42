"""Built-in segmenter that needs no model weights.

PLACEHOLDER: a helper replaces this with the real implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

from pigweight.domain import Detections, Image
from pigweight.settings import Settings


class ClassicSegmenter:
    name = "classic"

    def __init__(self, work_px: int = 1280) -> None:
        self.work_px = work_px

    @classmethod
    def from_settings(cls, settings: Settings) -> ClassicSegmenter:
        return cls(work_px=settings.classic_work_px)

    def segment(self, image: Image) -> Detections:
        return Detections.empty(image.shape[:2])

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        return [self.segment(im) for im in images]
