"""Count errors of an exported model on samples, and the score threshold that counts best.

The model runs through `YoloOnnxSegmenter`, the code the server counts with. Scores are
kept down to the lowest threshold tried; since NMS only lets a higher score suppress a
lower one, counting the scores >= t afterwards is the count at threshold t.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pigweight.media.images import is_infrared
from pigweight.training.data import Sample
from pigweight.vision.yolo_onnx import YoloOnnxSegmenter


def scores_per_sample(
    model: Path, samples: Sequence[Sample], imgsz: int, floor: float
) -> list[tuple[int, np.ndarray, bool]]:
    """(true count, detection scores, a grey night picture) per sample."""
    segmenter = YoloOnnxSegmenter(model, conf_threshold=floor, imgsz=imgsz, use_gpu=False)
    out = []
    for sample in samples:
        image, boxes = sample.load()
        out.append((len(boxes), segmenter.segment(image).scores, is_infrared(image)))
    return out


def pick_threshold(
    model: Path,
    samples: Sequence[Sample],
    thresholds: Sequence[float],
    imgsz: int,
    seen: Sequence[Sample] = (),
) -> float:
    """The threshold with the lowest count MAE on `samples` (validation, never evaluation),
    daylight and night (infrared) pictures weighing the same whatever their numbers: a camera
    counts at night as often as by day, and a young fine-tune scores its pigs differently in
    each (the grower pen's nights wanted 0.15 where its days were flat from 0.10 to 0.15).

    `seen`, frames the model trained on (un-augmented), weigh as much as `samples` in each
    light. A farm's validation frames are one stretch of video just before the held-out
    ones: a few arrangements of the same pigs, whose MAE is flat over a wide range of
    thresholds, so their lowest point alone is noise (on the grower pen it fell on 0.10-0.125
    for four of five models, whose next frames counted best at 0.20-0.25). The trained-on
    frames span every arrangement and light the camera has shown; a short fine-tune is
    hardly surer of them, and together the two pick within one step of the best for the
    frames that follow (docs/model.md)."""
    if not samples and not seen:
        return 0.4
    scored = scores_per_sample(model, [*samples, *seen], imgsz, min(thresholds))
    sets = [part for part in (scored[: len(samples)], scored[len(samples) :]) if part]
    per_light = [
        np.mean(curves, axis=0)
        for light in (False, True)
        if (curves := [c for part in sets if (c := _mae_curve(part, light, thresholds))])
    ]
    return float(thresholds[int(np.argmin(np.mean(per_light, axis=0)))])


def _mae_curve(
    scored: list[tuple[int, np.ndarray, bool]], light: bool, thresholds: Sequence[float]
) -> list[float]:
    """The count MAE at each threshold on the pictures of one light ([] when it has none)."""
    group = [(n, s) for n, s, grey in scored if grey == light]
    if not group:
        return []
    return [float(np.mean([abs(int((s >= t).sum()) - n) for n, s in group])) for t in thresholds]


def count_errors_by_source(
    model: Path, samples: Sequence[Sample], conf: float, imgsz: int
) -> dict[str, dict[str, float]]:
    """{source: {images, mae, exact}} on the held-out samples."""
    by_source: dict[str, list[Sample]] = {}
    for sample in samples:
        by_source.setdefault(sample.source, []).append(sample)
    out = {}
    for source, items in sorted(by_source.items()):
        scored = scores_per_sample(model, items, imgsz, conf)
        errors = [abs(int((s >= conf).sum()) - n) for n, s, _grey in scored]
        out[source] = {
            "images": len(errors),
            "mae": round(float(np.mean(errors)), 3),
            "exact": round(float(np.mean([e == 0 for e in errors])), 3),
        }
    return out
