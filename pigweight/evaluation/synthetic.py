"""How well a segmenter counts and outlines synthetic piglets, where the truth is exact.

Frames come either from a demo clip written by `write_demo_video` (decoded with PyAV, so
the segmenter sees real H.264 artefacts) or are rendered on the fly from seeds. Instances
are paired by Hungarian matching on mask IoU; a true animal left unpaired scores IoU 0,
so the mean IoU falls both for sloppy outlines and for missed animals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from pigweight.domain import Detections, Image
from pigweight.evaluation.report import confidence_split
from pigweight.synthetic import DemoScene, load_truth
from pigweight.vision.segmenter import Segmenter

Masks = npt.NDArray[np.bool_]
Progress = Callable[[int, int], None]


def _labels(masks: Masks) -> npt.NDArray[np.int32]:
    """Disjoint masks as one label image: 0 background, k for masks[k - 1]."""
    labels = np.zeros(masks.shape[1:], np.int32)
    for k, mask in enumerate(masks, start=1):
        labels[mask] = k
    return labels


def mask_ious(truth: Masks, predicted: Masks) -> npt.NDArray[np.float64]:
    """(N, M) IoU of N disjoint true masks against M predicted masks (which may overlap)."""
    n, m = len(truth), len(predicted)
    ious = np.zeros((n, m))
    if n == 0 or m == 0:
        return ious
    labels = _labels(truth)
    truth_area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    for j, mask in enumerate(predicted):
        ys, xs = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        if not len(ys):
            continue
        crop = (slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
        inside = labels[crop][mask[crop]]
        inter = np.bincount(inside, minlength=n + 1)[1:]
        union = truth_area + len(inside) - inter
        ious[:, j] = inter / np.maximum(union, 1)
    return ious


def matched_ious(truth: Masks, predicted: Masks) -> npt.NDArray[np.float64]:
    """IoU of each true animal with its Hungarian partner; 0 for animals left unpaired."""
    ious = mask_ious(truth, predicted)
    best = np.zeros(len(truth))
    if ious.size:
        rows, cols = linear_sum_assignment(ious, maximize=True)
        best[rows] = ious[rows, cols]
    return best


def _predicted_masks(detections: Detections, shape: tuple[int, int]) -> Masks | None:
    masks = detections.outline_masks()
    if masks is None:
        return None
    if masks.shape[1:] != shape:
        raise ValueError(f"segmenter returned masks of {masks.shape[1:]} for a {shape} frame")
    return masks


def _video_frames(video_path: Path, n_frames: int) -> Iterator[tuple[Image, int, Masks]]:
    """Evenly spaced decoded frames of the clip, with their true masks."""
    truth = load_truth(video_path)
    total = len(truth.counts)
    wanted = set(np.linspace(0, total - 1, min(n_frames, total)).round().astype(int).tolist())
    with av.open(str(video_path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                image = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
                yield image, truth.counts[index], truth.masks(index)
            if index >= max(wanted):
                break


def _rendered_frames(
    seeds: Sequence[int], n_frames: int, size: tuple[int, int]
) -> Iterator[tuple[Image, int, Masks]]:
    """Evenly spaced frames of a 60 s demo scene per seed, walking phases included."""
    per_seed = max(1, n_frames // max(len(seeds), 1))
    for seed in seeds:
        scene = DemoScene(seed=seed, width=size[0], height=size[1], fps=25, seconds=60)
        for index in np.linspace(0, scene.frame_count - 1, per_seed).round().astype(int):
            frame = scene.frame(int(index))
            yield frame.image, frame.count, frame.masks


def evaluate_synthetic(
    segmenter: Segmenter,
    video_path: Path | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    n_frames: int = 60,
    size: tuple[int, int] = (1280, 720),
    progress: Progress | None = None,
) -> dict[str, object]:
    """Count and mask accuracy of `segmenter` on a demo clip, or on frames rendered from seeds.

    `size` is (width, height) of rendered frames; a clip keeps its own size.
    """
    frames = (
        _video_frames(Path(video_path), n_frames)
        if video_path
        else _rendered_frames(seeds, n_frames, size)
    )
    total = (
        n_frames if video_path is None else min(n_frames, len(load_truth(Path(video_path)).counts))
    )
    true_counts: list[int] = []
    found_counts: list[int] = []
    ious: list[float] = []
    confidences: list[float] = []
    has_masks = True
    started = time.perf_counter()
    for image, count, masks in frames:
        detections = segmenter.segment(image)
        true_counts.append(count)
        found_counts.append(len(detections))
        confidences.append(detections.confidence)
        predicted = _predicted_masks(detections, image.shape[:2])
        if predicted is None:
            has_masks = False
        else:
            ious.extend(matched_ious(masks, predicted).tolist())
        if progress is not None:
            progress(len(true_counts), total)
    summary = _summary(
        segmenter.name, video_path, true_counts, found_counts, ious if has_masks else None, started
    )
    summary["confidence"] = confidence_split(
        confidences, [t == f for t, f in zip(true_counts, found_counts, strict=True)]
    )
    return summary


def _summary(
    name: str,
    video_path: Path | None,
    true_counts: list[int],
    found_counts: list[int],
    ious: list[float] | None,
    started: float,
) -> dict[str, object]:
    truth = np.array(true_counts)
    found = np.array(found_counts)
    elapsed_s = time.perf_counter() - started
    frames = len(truth)
    return {
        "segmenter": name,
        "source": str(video_path) if video_path else "rendered",
        "frames": frames,
        "exact_count_rate": float((truth == found).mean()) if frames else 0.0,
        "count_mae": float(np.abs(truth - found).mean()) if frames else 0.0,
        "count_bias": float((found - truth).mean()) if frames else 0.0,
        "mean_true_count": float(truth.mean()) if frames else 0.0,
        "mean_mask_iou": _mean_iou(ious, int(found.sum())),
        "animals": int(truth.sum()),
        "seconds": round(elapsed_s, 3),
        "frames_per_s": round(frames / elapsed_s, 2) if elapsed_s > 0 else 0.0,
    }


def _mean_iou(ious: list[float] | None, found_total: int) -> float | None:
    """None for box-only segmenters; with no animals at all, 1.0 unless something was found."""
    if ious is None:
        return None
    if not ious:
        return 1.0 if found_total == 0 else 0.0
    return float(np.mean(ious))
