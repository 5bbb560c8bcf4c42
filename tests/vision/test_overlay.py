from __future__ import annotations

import numpy as np
import pytest

from pigweight.domain import Detections
from pigweight.vision.overlay import draw_overlay, mask_outlines


def two_animals(h: int = 120, w: int = 200) -> Detections:
    masks = np.zeros((2, h, w), bool)
    masks[0, 20:60, 20:80] = True
    masks[1, 70:110, 120:190] = True
    return Detections(
        boxes=np.array([[20, 20, 80, 60], [120, 70, 190, 110]], np.float32),
        scores=np.array([0.9, 0.8]),
        class_ids=np.zeros(2),
        masks=masks,
    )


def test_masks_are_tinted_and_the_floor_is_not() -> None:
    image = np.full((120, 200, 3), 100, np.uint8)
    out = draw_overlay(image, two_animals(), count=2)
    assert out.shape == image.shape and out is not image
    assert (image == 100).all()  # the frame itself is never drawn on
    assert not np.array_equal(out[25, 25], [100, 100, 100])  # inside an animal: tinted
    assert np.array_equal(out[115, 5], [100, 100, 100])  # plain floor: untouched


def test_count_badge_sits_top_right() -> None:
    image = np.full((360, 640, 3), 200, np.uint8)
    out = draw_overlay(image, Detections.empty((360, 640)), count=27)
    assert out[8:60, 560:630].mean() < 150  # dark box with white digits
    assert np.array_equal(out[20, 20], [200, 200, 200])  # the camera's own timestamp corner
    draw_overlay(np.zeros((20, 30, 3), np.uint8), Detections.empty((20, 30)), count=12345)


@pytest.mark.parametrize("n", [0, 2])
def test_outlines_are_normalised_polygons(n: int) -> None:
    detections = two_animals() if n else Detections.empty((120, 200))
    polygons = mask_outlines(detections)
    assert len(polygons) == n
    for polygon in polygons:
        xs, ys = zip(*polygon, strict=True)
        assert min(xs) >= 0 and max(xs) <= 1 and min(ys) >= 0 and max(ys) <= 1
    if n:
        xs, ys = zip(*polygons[0], strict=True)
        assert min(xs) == pytest.approx(0.1, abs=0.01) and max(ys) == pytest.approx(0.5, abs=0.01)
