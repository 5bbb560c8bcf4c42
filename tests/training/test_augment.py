"""Augmentation: a fixed camera's fine-tuning sees only pictures that camera can show."""

from __future__ import annotations

import numpy as np

from pigweight.training.augment import AUGMENT, augmented_input

SIZE = 320


def _wide_frame() -> tuple[np.ndarray, np.ndarray]:
    """A 640x360 frame (a camera's) with one pig-sized box in its top-left corner."""
    image = np.full((360, 640, 3), 90, np.uint8)
    image[20:80, 30:250] = 200
    return image, np.array([[30, 20, 250, 80]], np.float32)


def _draws(plan: str, n: int = 60) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    out = []
    for _ in range(n):
        _, boxes = augmented_input(_wide_frame, _wide_frame, SIZE, rng, AUGMENT[plan])
        out.append(boxes)
    return out


def test_the_camera_plan_keeps_the_cameras_up_and_its_animals_whole_sized() -> None:
    # the letterboxed 640x360 frame fills rows 70..250 of the 320 input; the box's top
    # edge stays in the picture's upper half: never upside down, never turned, never
    # four frames to one input
    for boxes in _draws("camera"):
        assert len(boxes) <= 1
        for x0, y0, x1, y1 in boxes:
            assert y1 - y0 < x1 - x0  # still lying along the picture, not turned
            assert y0 < SIZE / 2


def test_the_full_plan_turns_and_mosaics() -> None:
    draws = _draws("full")
    assert any(len(b) == 4 for b in draws)  # a mosaic of four frames
    turned = [b for b in draws if len(b) == 1 and (b[0, 3] - b[0, 1]) > (b[0, 2] - b[0, 0])]
    flipped = [b for b in draws if len(b) == 1 and b[0, 1] > SIZE / 2]
    assert turned and flipped
