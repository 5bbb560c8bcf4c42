"""Tiny labelled folders and a starting model for the training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch", reason="the training extra is not installed: pip install '.[train]'")

from pigweight.synthetic.scene import render_scene
from pigweight.training.data import mask_boxes
from pigweight.vision.pig_model import DEFAULT_MODEL
from tests.conftest import SHARED


@pytest.fixture(scope="session")
def base_model() -> Path:
    """The shipped pig model, or YOLOX-Nano COCO from ../shared before one is shipped."""
    if DEFAULT_MODEL.is_file():
        return DEFAULT_MODEL
    coco = SHARED / "models" / "yolox_nano_coco.onnx"
    if not coco.is_file():
        pytest.skip(f"neither {DEFAULT_MODEL} nor {coco} exists")
    return coco


def write_yolo_folder(
    root: Path, scenes: list[tuple[int, int]], size: tuple[int, int], negative: bool = False
) -> Path:
    """images/ + labels/ (YOLO boxes) of still synthetic scenes: (seed, animals) each;
    `negative`: the pictures inverted, a camera unlike anything the shipped model saw."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    w, h = size
    for seed, n in scenes:
        frame = render_scene(seed, n, width=w, height=h)
        name = f"{seed:08d}"
        image = 255 - frame.image if negative else frame.image
        Image.fromarray(image).save(root / "images" / f"{name}.png")
        lines = []
        for x1, y1, x2, y2 in mask_boxes(frame.masks):
            cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
            lines.append(f"0 {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
        (root / "labels" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 320x180 synthetic platforms with 3-8 animals, inverted, as a farm's labelled
    folder: a camera the shipped model does poorly on, so fine-tuning has work to do."""
    root = tmp_path_factory.mktemp("tiny") / "farm_cam"
    return write_yolo_folder(root, [(s, 3 + s) for s in range(6)], (320, 180), negative=True)


def boxes_image(width: int, height: int) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)
