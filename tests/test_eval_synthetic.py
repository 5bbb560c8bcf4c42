"""The synthetic evaluation scores a perfect segmenter 1.0 and a bad one poorly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pigweight.domain import Detections, Image
from pigweight.evaluation.synthetic import evaluate_synthetic, matched_ious
from pigweight.synthetic import DemoScene, write_demo_video

W, H = 320, 180


def _detections(masks: np.ndarray) -> Detections:
    boxes = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    n = len(masks)
    return Detections(
        boxes=np.array(boxes, np.float32).reshape(n, 4),
        scores=np.ones(n, np.float32),
        class_ids=np.zeros(n, np.int64),
        masks=masks,
        frame_shape=masks.shape[1:],
    )


class Oracle:
    """Answers with the true masks of the frame it is shown (looked up by pixels)."""

    name = "oracle"

    def __init__(self, scenes: Sequence[DemoScene]) -> None:
        self.truth = {}
        for scene in scenes:
            for i in range(scene.frame_count):
                frame = scene.frame(i)
                self.truth[frame.image.tobytes()] = frame.masks

    def segment(self, image: Image) -> Detections:
        return _detections(self.truth[image.tobytes()])

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        return [self.segment(im) for im in images]


class HalfBlind:
    """Finds one big blob where the animals are, and nothing else."""

    name = "half-blind"

    def segment(self, image: Image) -> Detections:
        bright = image.mean(axis=2) > 150
        return _detections(bright[None]) if bright.any() else Detections.empty(image.shape[:2])

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        return [self.segment(im) for im in images]


def test_perfect_segmenter_scores_one_on_rendered_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    import pigweight.evaluation.synthetic as synthetic

    scenes: list[DemoScene] = []

    class SmallScene(DemoScene):
        def __init__(self, **kw: Any) -> None:
            super().__init__(seed=int(kw["seed"]), width=W, height=H, fps=2, seconds=60)
            scenes.append(self)

    monkeypatch.setattr(synthetic, "DemoScene", SmallScene)
    oracle = Oracle([SmallScene(seed=0), SmallScene(seed=1)])
    calls: list[int] = []
    report: dict[str, Any] = evaluate_synthetic(
        oracle, seeds=(0, 1), n_frames=8, progress=lambda d, t: calls.append(d)
    )
    assert report["frames"] == 8 and calls == list(range(1, 9))
    assert report["exact_count_rate"] == 1.0 and report["count_mae"] == 0.0
    assert report["mean_mask_iou"] == pytest.approx(1.0)
    assert report["animals"] > 0


def test_bad_segmenter_scores_low_on_a_video(tmp_path: Path) -> None:
    video = write_demo_video(tmp_path / "d.mp4", seconds=2, seed=3, width=W, height=H, fps=10)
    report: dict[str, Any] = evaluate_synthetic(HalfBlind(), video_path=video, n_frames=5)
    assert report["frames"] == 5 and report["source"] == str(video)
    assert report["exact_count_rate"] < 0.5
    assert report["count_mae"] > 3
    assert report["mean_mask_iou"] < 0.2


def test_unmatched_truth_counts_as_zero_iou() -> None:
    truth = np.zeros((2, 10, 10), bool)
    truth[0, :5], truth[1, 5:] = True, True
    predicted = truth[:1].copy()
    assert matched_ious(truth, predicted).tolist() == [1.0, 0.0]
    assert matched_ious(truth, np.zeros((0, 10, 10), bool)).tolist() == [0.0, 0.0]
