"""`pigweight count`: photos and videos in, one count per photo or video sample out."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from pigweight.domain import Image
from pigweight.errors import InvalidImage, InvalidVideo
from pigweight.media.images import load_image
from pigweight.media.probe import VIDEO_SUFFIXES
from pigweight.media.video import sample_frames, video_duration_s
from pigweight.settings import Settings
from pigweight.vision.overlay import draw_overlay
from pigweight.vision.segmenter import Segmenter, create_segmenter
from pigweight.vision.zone import Zone, split


def count_paths(
    settings: Settings,
    paths: list[Path],
    every_s: float,
    overlay_dir: Path | None,
    zone: Zone | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Count every path; returns the result rows and one message per file that failed.

    With a zone, `count` is of the animals inside it and each row says how many were `outside`.
    """
    if overlay_dir is not None:
        overlay_dir.mkdir(parents=True, exist_ok=True)
    segmenter = create_segmenter(settings.vision)
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for path in paths:
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                results.extend(_count_video(segmenter, path, every_s, overlay_dir, zone))
            else:
                image = load_image(path, settings.limits.max_image_megapixels)
                results.append(_count_one(segmenter, image, str(path), None, overlay_dir, zone))
        except (InvalidImage, InvalidVideo) as exc:
            failures.append(str(exc))
    return results, failures


def _count_one(
    segmenter: Segmenter,
    image: Image,
    name: str,
    t: float | None,
    overlay_dir: Path | None,
    zone: Zone | None = None,
) -> dict[str, Any]:
    detections = segmenter.segment(image)
    counted, inside = split(detections, zone)
    row: dict[str, Any] = {"path": name}
    if t is not None:
        row["t"] = round(t, 3)
    row["count"] = len(counted)
    row["confidence"] = round(counted.confidence, 4)
    if zone is not None:
        row["outside"] = len(detections) - len(counted)
    if overlay_dir is not None:
        stem = Path(name).stem if t is None else f"{Path(name).stem}_t{t:08.2f}"
        out = overlay_dir / f"{stem}.jpg"
        picture = draw_overlay(image, detections, inside=inside, zone=zone)
        PILImage.fromarray(picture).save(out, quality=88)
    return row


def _count_video(
    segmenter: Segmenter,
    path: Path,
    every_s: float,
    overlay_dir: Path | None,
    zone: Zone | None,
) -> list[dict[str, Any]]:
    from tqdm import tqdm

    duration = video_duration_s(path)
    total = math.floor(duration / every_s) + 1 if duration else None
    rows = []
    with tqdm(
        total=total, desc=path.name, unit="frame", file=sys.stderr, disable=not sys.stderr.isatty()
    ) as bar:
        for frame in sample_frames(path, every_s):
            rows.append(_count_one(segmenter, frame.image, str(path), frame.ts, overlay_dir, zone))
            bar.update(1)
    return rows
