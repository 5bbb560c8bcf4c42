"""Composite platforms: real pigs cut along their outlines and pasted on drawn floors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pigweight.synthetic.scene import render_scene
from pigweight.training.composite import CutoutBank, composite_frame, composite_samples
from pigweight.training.data import SYNTH_SIZE


def write_polygon_folder(root: Path, seeds: range) -> Path:
    """images/ + labels/ (YOLO polygons) of still synthetic scenes, traced from their masks."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for seed in seeds:
        frame = render_scene(seed, 4, width=480, height=270)
        h, w = frame.image.shape[:2]
        Image.fromarray(frame.image).save(root / "images" / f"p{seed}.png")
        lines = []
        for mask in frame.masks:
            contours, _ = cv2.findContours(
                mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
            )
            outline = max(contours, key=cv2.contourArea)[:, 0].astype(np.float64)
            xy = " ".join(f"{x / w:.5f} {y / h:.5f}" for x, y in outline)
            lines.append(f"0 {xy}")
        (root / "labels" / f"p{seed}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def polygons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_polygon_folder(tmp_path_factory.mktemp("poly") / "farm_polygons", range(3))


def test_a_composite_frame_labels_every_pasted_pig_it_shows(polygons: Path) -> None:
    bank = CutoutBank([polygons], lambda source, name: True)
    assert len(bank.cutouts) >= 3  # whole, unhidden drawn pigs give cut-outs
    counts = []
    for seed in range(6):
        image, boxes = composite_frame(bank, np.random.default_rng(seed))
        assert image.shape == (SYNTH_SIZE[1], SYNTH_SIZE[0], 3)
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= SYNTH_SIZE[0]).all()
        assert (boxes[:, 3] <= SYNTH_SIZE[1]).all()
        sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        assert (sides >= 4).all()
        counts.append(len(boxes))
    assert max(counts) >= 10  # crowds, not single animals


def write_magenta_folder(root: Path) -> Path:
    """Magenta ellipses (a colour no drawn floor has) on grey, with their polygons."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    image = np.full((240, 320, 3), 90, np.uint8)
    lines = []
    for cx, cy in ((70, 60), (220, 70), (90, 170), (240, 180)):
        points = cv2.ellipse2Poly((cx, cy), (45, 22), 30, 0, 360, 10)
        cv2.fillPoly(image, [points], (255, 0, 255))
        lines.append("0 " + " ".join(f"{x / 320:.5f} {y / 240:.5f}" for x, y in points))
    Image.fromarray(image).save(root / "images" / "m.png")
    (root / "labels" / "m.txt").write_text("\n".join(lines) + "\n")
    return root


def test_the_boxes_are_where_the_pasted_pigs_are(tmp_path: Path) -> None:
    bank = CutoutBank([write_magenta_folder(tmp_path / "magenta")], lambda s, n: True)
    assert len(bank.cutouts) == 4
    for seed in range(8):
        image, boxes = composite_frame(bank, np.random.default_rng(seed))
        r, g, b = (image[..., k].astype(int) for k in range(3))
        pig = (r > 2 * g + 40) & (b > 2 * g + 40)  # magenta, lit and shadowed
        inside = np.zeros(pig.shape, bool)
        for x1, y1, x2, y2 in boxes.astype(int):
            assert pig[y1:y2, x1:x2].mean() > 0.2  # a box holds a pig, not bare floor
            inside[y1:y2, x1:x2] = True
        # the pigs left unlabelled are the ones mostly hidden or out of the frame
        assert (pig & ~inside).sum() <= 0.15 * max(1, pig.sum())


def test_the_same_seed_draws_the_same_frame(polygons: Path) -> None:
    one = composite_samples(CutoutBank([polygons], lambda s, n: True), range(2))
    two = composite_samples(CutoutBank([polygons], lambda s, n: True), range(2))
    a, b = one[1].load(), two[1].load()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(one[0].load()[0], a[0])


def test_only_kept_images_give_cut_outs(polygons: Path) -> None:
    bank = CutoutBank([polygons], lambda source, name: name != "p1.png")
    assert sorted(p.name for p in bank.images()) == ["p0.png", "p2.png"]
    nothing = CutoutBank([polygons], lambda source, name: False)
    assert nothing.cutouts == []
    image, boxes = composite_frame(nothing, np.random.default_rng(0))
    assert len(boxes) == 0 and image.shape[2] == 3  # a bare platform teaches background
