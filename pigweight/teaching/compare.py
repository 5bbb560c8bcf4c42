"""Two models side by side on a camera's held-out frames: count error, exact rate, time.

Both models count as the camera counts (the pig detector's own threshold, the whole frame:
the labeller boxes every animal in the picture, not only those on the platform). Runs in the
training process after a fine-tune, or in a worker thread for an imported model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pigweight.domain import Detections
from pigweight.media.images import load_image
from pigweight.vision.segmenter import Segmenter


@dataclass(frozen=True, slots=True)
class HeldOutFrame:
    frame_id: int
    image: Path
    truth: int  # labelled animals


def pig_segmenter(model: Path | None) -> Segmenter:
    """The pig detector on `model` (None: the shipped one), built as the camera builds it."""
    from pigweight.settings import Settings
    from pigweight.vision.pig_detector import PigSegmenter

    settings = Settings(_env_file=None, segmenter="pig", model_path=model)  # type: ignore[call-arg]
    return PigSegmenter.from_settings(settings.vision)


def normalised_boxes(found: Detections, frame_hw: tuple[int, int]) -> list[list[float]]:
    """The detections' boxes as [x1, y1, x2, y2] in 0-1 of the frame, as labels are kept."""
    h, w = frame_hw
    scale = np.array([w, h, w, h], np.float32)
    inside = np.clip(found.boxes / scale, 0.0, 1.0)  # a box the decoder let hang over an edge
    return [[round(float(v), 5) for v in box] for box in inside]


def count_frames(
    segmenter: Segmenter, frames: Sequence[HeldOutFrame]
) -> tuple[list[int], list[list[list[float]]], float]:
    """(counts, normalised boxes, mean ms per frame) of one model on the frames."""
    counts, boxes = [], []
    spent = 0.0
    for frame in frames:
        image = load_image(frame.image)
        started = time.perf_counter()
        found = segmenter.segment(image)
        spent += time.perf_counter() - started
        counts.append(len(found.boxes))
        boxes.append(normalised_boxes(found, image.shape[:2]))
    return counts, boxes, 1000.0 * spent / max(1, len(frames))


def compare(
    candidate: Segmenter,
    current: Segmenter,
    current_id: str,
    frames: Sequence[HeldOutFrame],
) -> dict[str, Any]:
    """The candidate's evaluation (with the current model's figures beside it) and the
    per-frame comparison."""
    truth = [f.truth for f in frames]
    new_counts, new_boxes, new_ms = count_frames(candidate, frames)
    old_counts, old_boxes, old_ms = count_frames(current, frames)
    evaluation = {
        "frames": len(frames),
        **_errors(new_counts, truth, new_ms),
        "against": current_id,
        **{f"against_{k}": v for k, v in _errors(old_counts, truth, old_ms).items()},
    }
    per_frame = [
        {
            "frame_id": f.frame_id,
            "truth": f.truth,
            "current": old,
            "candidate": new,
            "current_boxes": ob,
            "candidate_boxes": nb,
        }
        for f, old, new, ob, nb in zip(
            frames, old_counts, new_counts, old_boxes, new_boxes, strict=True
        )
    ]
    return {"evaluation": evaluation, "frames": per_frame}


def _errors(counts: list[int], truth: list[int], ms: float) -> dict[str, float]:
    errors = [abs(c - t) for c, t in zip(counts, truth, strict=True)]
    return {
        "mae": round(float(np.mean(errors)), 3) if errors else 0.0,
        "exact": round(float(np.mean([e == 0 for e in errors])), 3) if errors else 0.0,
        "ms_per_frame": round(ms, 1),
    }
