"""Run a segmenter over a labelled set and collect what it got right."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from pigweight.domain import Image
from pigweight.evaluation.datasets import Dataset, DatasetItem
from pigweight.evaluation.labels import AnimalLabels
from pigweight.evaluation.metrics import match_labels
from pigweight.evaluation.report import EvalReport, ImageResult
from pigweight.media.images import encode_jpeg, load_image
from pigweight.vision.overlay import draw_overlay
from pigweight.vision.segmenter import Segmenter

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (images done, images in the set)

_LABEL_RGB = (255, 40, 40)  # truth drawn in red, apart from the pastel detections


def evaluate_dataset(
    segmenter: Segmenter,
    dataset: Dataset,
    progress: Progress | None = None,
    overlay_dir: Path | None = None,
    max_megapixels: float = 60.0,
) -> EvalReport:
    """Count every image of `dataset`; write overlays (detections + labels) if asked."""
    if overlay_dir is not None:
        overlay_dir.mkdir(parents=True, exist_ok=True)
    results: list[ImageResult] = []
    total = len(dataset.items)
    for done, item in enumerate(dataset.items, start=1):
        results.append(_evaluate_item(segmenter, item, overlay_dir, max_megapixels))
        if progress is not None:
            progress(done, total)
    return EvalReport(dataset=dataset.name, segmenter=segmenter.name, images=tuple(results))


def _evaluate_item(
    segmenter: Segmenter, item: DatasetItem, overlay_dir: Path | None, max_megapixels: float
) -> ImageResult:
    image = load_image(item.path, max_megapixels=max_megapixels)
    started = time.perf_counter()
    detections = segmenter.segment(image)
    ms = (time.perf_counter() - started) * 1000.0
    frame_hw = (int(image.shape[0]), int(image.shape[1]))
    labelled = matched = None
    if item.labels is not None:
        labelled = len(item.labels)
        matched = match_labels(item.labels, detections, frame_hw)
    logger.debug("%s: true %d, predicted %d", item.name, item.true_count, len(detections))
    if overlay_dir is not None:
        picture = _draw_labels(draw_overlay(image, detections, len(detections)), item.labels)
        (overlay_dir / f"{Path(item.name).stem}.jpg").write_bytes(encode_jpeg(picture))
    return ImageResult(
        item.name, item.true_count, len(detections), ms, labelled, matched, detections.confidence
    )


def _draw_labels(picture: Image, labels: AnimalLabels | None) -> Image:
    """The labelled truth on top of the detections: red dots or red outlines."""
    if labels is None or len(labels) == 0:
        return picture
    picture = picture if picture.flags.writeable else picture.copy()
    thickness = max(1, round(max(picture.shape[:2]) / 640))
    for x, y in labels.points:
        centre = (int(x), int(y))
        cv2.circle(picture, centre, 3 * thickness + 1, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(picture, centre, 3 * thickness, _LABEL_RGB, -1, cv2.LINE_AA)
    if labels.outlines:
        outlines = [np.round(o).astype(np.int32) for o in labels.outlines]
        cv2.polylines(picture, outlines, True, _LABEL_RGB, thickness, cv2.LINE_AA)
    return picture
