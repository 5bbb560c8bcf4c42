"""Synthetic platform scenes: deterministic, exact truth, a demo clip that decodes."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from pigweight.synthetic import DemoScene, load_truth, render_scene, truth_path, write_demo_video

W, H = 320, 180


@pytest.fixture(scope="module")
def scene() -> DemoScene:
    return DemoScene(seed=5, width=W, height=H, fps=10, seconds=6)


def test_same_seed_same_frame_and_masks() -> None:
    a, b = render_scene(3, 12, W, H), render_scene(3, 12, W, H)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.masks, b.masks)
    c = render_scene(4, 12, W, H)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("n", [10, 25, 40])
def test_still_scene_counts_every_animal_with_disjoint_masks(n: int) -> None:
    frame = render_scene(1, n, W, H)
    assert frame.image.shape == (H, W, 3) and frame.image.dtype == np.uint8
    assert frame.count == n
    masks = frame.masks
    assert masks.shape == (n, H, W)
    assert masks.sum(axis=(1, 2)).min() > 0  # every animal shows some pixels
    assert masks.sum(axis=0).max() == 1  # a pixel belongs to one animal at most


def test_masks_cover_the_pink_animals_not_the_floor() -> None:
    frame = render_scene(2, 15, W, H)
    union = frame.masks.any(axis=0)
    red = frame.image[..., 0].astype(int) - frame.image[..., 2].astype(int)
    assert frame.image[union].mean() > frame.image[~union].mean() + 30
    assert red[union].mean() > 10


def test_ir_mode_is_grey() -> None:
    frame = render_scene(1, 12, W, H, ir=True)
    assert np.array_equal(frame.image[..., 0], frame.image[..., 1])
    assert np.array_equal(frame.image[..., 1], frame.image[..., 2])
    assert frame.image.std() > 10


def test_demo_scene_random_access_is_deterministic(scene: DemoScene) -> None:
    late = scene.frame(scene.frame_count - 1)
    early = scene.frame(3)
    again = DemoScene(seed=5, width=W, height=H, fps=10, seconds=6)
    assert np.array_equal(again.frame(3).image, early.image)
    assert np.array_equal(again.frame(scene.frame_count - 1).masks, late.masks)


def test_demo_scene_animals_come_and_go(scene: DemoScene) -> None:
    counts = [scene.frame(i).count for i in range(scene.frame_count)]
    assert scene.frame_count == 60
    assert max(counts) >= 12 and min(counts) == 0  # a full group, and an empty platform
    assert all(0 <= c <= 30 for c in counts)


def test_demo_video_decodes_with_matching_truth(tmp_path: Path) -> None:
    out = write_demo_video(tmp_path / "demo.mp4", seconds=2, seed=1, width=W, height=H, fps=25)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 50
    assert frames[0].shape == (H, W, 3)
    truth = load_truth(out)
    stored = json.loads(truth_path(out).read_text())
    assert stored["seed"] == 1 and len(stored["frames"]) == 50
    assert truth.fps == 25 and len(truth.counts) == 50
    for i in (0, 25, 49):
        masks = truth.masks(i)
        assert len(masks) == truth.counts[i]
        if len(masks):  # the decoded picture is bright where the truth says an animal is
            union = masks.any(axis=0)
            assert frames[i][union].mean() > frames[i][~union].mean() + 20


def test_progress_is_reported(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    write_demo_video(
        tmp_path / "p.mp4",
        seconds=0.4,
        seed=2,
        width=W,
        height=H,
        fps=10,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (4, 4)


def test_the_date_stamp_ticks_in_the_wall_band_and_owes_nothing_to_opencv_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # OpenCV 5.1 rasterises putText differently from 5.0, which moved every pixel of a
    # synthetic clip and a count measured on it: the stamp is drawn from a fixed font.
    import cv2

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("cv2.putText is used by the synthetic scene")

    monkeypatch.setattr(cv2, "putText", refuse)
    plain = DemoScene(seed=2, width=640, height=360, fps=1, seconds=120, timestamp=False)
    stamped = DemoScene(seed=2, width=640, height=360, fps=1, seconds=120)
    band_px = round(stamped.stage.platform.y0)
    first, later = stamped.frame(0).image, stamped.frame(61).image
    ink = (first != plain.frame(0).image).any(axis=2)
    assert ink.any() and not ink[band_px:].any()  # the text, and only in the wall band
    assert (first[ink] == 255).all(axis=1).sum() > 50  # white glyphs with a black outline
    assert (first[ink] == 0).all(axis=1).sum() > 50
    assert not np.array_equal(first[:band_px], later[:band_px])  # 07:30:00 -> 07:31:01
