"""Augmentation: a fixed camera's fine-tuning sees only pictures that camera can show."""

from __future__ import annotations

import numpy as np

from pigweight.training.augment import AUGMENT, augmented_input, camera_input_hw
from pigweight.training.data import Sample, iterate_balanced
from pigweight.vision.yolo_letterbox import plan_batch

SIZE = 320
HW = (SIZE, SIZE)


def _wide_frame() -> tuple[np.ndarray, np.ndarray]:
    """A 640x360 frame (a camera's) with one pig-sized box in its top-left corner."""
    image = np.full((360, 640, 3), 90, np.uint8)
    image[20:80, 30:250] = 200
    return image, np.array([[30, 20, 250, 80]], np.float32)


def _draws(plan: str, n: int = 60) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    out = []
    for _ in range(n):
        _, boxes = augmented_input(_wide_frame, _wide_frame, HW, rng, AUGMENT[plan])
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


def test_a_cameras_frames_train_in_the_shape_they_are_counted_in() -> None:
    # the run-time letterbox of one 640x360 camera at 416 cuts the padding to the stride:
    # 416x256, not the 416x416 square with 160 grey rows
    hw = camera_input_hw({(360, 640)}, 416)
    assert hw == plan_batch([(360, 640)], (416, 416), 32, fixed_input=False)[0].input_hw
    assert hw == (256, 416)
    tensor, boxes = augmented_input(_wide_frame, _wide_frame, hw, np.random.default_rng(0))
    assert tensor.shape == (3, 256, 416)
    assert len(boxes) == 1 and boxes[0, 2] <= 416 and boxes[0, 3] <= 256
    # frames of two shapes (two cameras) keep the square
    assert camera_input_hw({(360, 640), (480, 640)}, 416) == (416, 416)


def test_a_cameras_few_nights_are_drawn_as_often_as_its_days() -> None:
    days = [_sample(f"day{i}") for i in range(18)]
    nights = [_sample("night0"), _sample("night1")]
    stream = iterate_balanced([days, nights], np.random.default_rng(5))
    drawn = [next(stream).name for _ in range(2000)]
    share = sum(name.startswith("night") for name in drawn) / len(drawn)
    assert 0.45 < share < 0.55  # 2 frames of 20, half of what it learns from
    assert set(drawn) == {s.name for s in days + nights}  # every frame still comes round
    only_days = iterate_balanced([days, []], np.random.default_rng(5))
    assert {next(only_days).name for _ in range(200)} == {s.name for s in days}


def _sample(name: str) -> Sample:
    return Sample(source="cam", name=name, group=name, load=_wide_frame)
