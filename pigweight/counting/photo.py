"""One uploaded photo counted: decode, segment, draw, encode (the `/api/count_image` route runs
it in a worker thread)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from pigweight.domain import Detections, Image
from pigweight.media.images import encode_jpeg, load_image
from pigweight.vision.overlay import draw_overlay, mask_outlines
from pigweight.vision.segmenter import Segmenter
from pigweight.vision.zone import Zone, split

# Segmenters never look at more pixels than this (classic works at <= 4096, YOLO at imgsz),
# and full-size masks of a 50 MP photo would cost gigabytes: analyse a downscaled copy.
ANALYSIS_MAX_PX = 2048
# The overlay is for a screen; a full-resolution JPEG in base64 would only slow the page.
OVERLAY_MAX_PX = 1600
OVERLAY_JPEG_QUALITY = 82


@dataclass(frozen=True, slots=True)
class PhotoCount:
    """What one photo showed, ready to be put in a response."""

    count: int
    confidence: float  # 0-1, mean detection score (1.0 when nothing was found)
    width_px: int  # of the uploaded photo, after EXIF rotation
    height_px: int
    outlines: list[list[tuple[float, float]]]  # per animal, (x, y) in 0-1 of the photo
    overlay_jpeg: bytes
    processing_ms: float
    outside: int = 0  # animals outside the platform zone: found, not counted
    outside_outlines: list[list[tuple[float, float]]] = field(default_factory=list)

    def overlay_data_url(self) -> str:
        """The overlay as a `data:image/jpeg;base64,...` URL an <img> can show directly."""
        return "data:image/jpeg;base64," + base64.b64encode(self.overlay_jpeg).decode("ascii")


def count_photo(
    data: bytes,
    get_segmenter: Callable[[], Segmenter],
    max_megapixels: float,
    analysis_max_px: int = ANALYSIS_MAX_PX,
    filename: str | None = None,
    zone: Zone | None = None,
) -> PhotoCount:
    """Count the animals on an encoded photo; raises InvalidImage, ImageTooLarge, ModelLoadError.

    The photo is decoded before the segmenter is asked for, so a bad file is reported as
    such even while the model cannot be loaded.
    """
    started = time.perf_counter()
    image = load_image(data, max_megapixels, name=filename)
    height_px, width_px = image.shape[:2]
    work = fit_within(image, max(analysis_max_px, ANALYSIS_MAX_PX))
    detections = get_segmenter().segment(work)
    if detections.frame_shape == (0, 0):
        # Boxes-only detections may not say which frame they refer to: it is `work`.
        detections = replace(detections, frame_shape=(work.shape[0], work.shape[1]))
    counted, inside = split(detections, zone)
    shown = fit_within(work, OVERLAY_MAX_PX)
    overlay = draw_overlay(
        shown, scale_detections(detections, shown.shape[:2]), inside=inside, zone=zone
    )
    return PhotoCount(
        count=len(counted),
        confidence=round(float(np.clip(counted.confidence, 0.0, 1.0)), 4),
        width_px=width_px,
        height_px=height_px,
        outlines=mask_outlines(counted),
        overlay_jpeg=encode_jpeg(overlay, OVERLAY_JPEG_QUALITY),
        processing_ms=round((time.perf_counter() - started) * 1000.0, 1),
        outside=len(detections) - len(counted),
        outside_outlines=mask_outlines(detections.select(~inside)),
    )


def fit_within(image: Image, max_px: int) -> Image:
    """`image` shrunk so its longest side is at most `max_px` (unchanged if it fits)."""
    h, w = image.shape[:2]
    scale = max_px / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def scale_detections(detections: Detections, shape: tuple[int, int]) -> Detections:
    """The same detections on a frame resized to `shape` (H, W): boxes and masks follow."""
    h, w = shape
    src_h, src_w = detections.frame_shape
    if (src_h, src_w) == (h, w) or not src_h or not src_w:
        return detections
    factors = np.array([w / src_w, h / src_h, w / src_w, h / src_h], np.float32)
    masks = None
    if detections.masks is not None:  # an outline not drawn yet is drawn at the new size
        masks = np.zeros((len(detections), h, w), bool)
        for i, mask in enumerate(detections.masks):
            masks[i] = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    return Detections(
        boxes=detections.boxes * factors,
        scores=detections.scores,
        class_ids=detections.class_ids,
        masks=masks,
        track_ids=detections.track_ids,
        frame_shape=(h, w),
        doubt=detections.doubt,
        outline=detections.outline,
    )
