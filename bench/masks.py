"""Which outline for a box-only detector: ellipse in the box, or skin colour in the box?

Given the true boxes of `pig_seg_roboflow`'s held-out photos (one group in ten, never
trained on), each method draws one mask per animal; the score is the mean IoU with the
hand-drawn polygon. The box itself (a rectangle) is the baseline.

    .venv/bin/python bench/masks.py            -> prints a table, writes bench/results/masks.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np

from pigweight.evaluation.datasets import load_dataset
from pigweight.media.images import load_image
from pigweight.training.data import group_of, label_boxes
from pigweight.training.splits import HELD_OUT_MODULO
from pigweight.vision.box_masks import colour_masks, ellipse_masks

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "pig_seg_roboflow"


def _held_out(name: str) -> bool:
    import hashlib

    digest = hashlib.sha1(group_of("pig_seg_roboflow", name).encode()).digest()
    return int.from_bytes(digest[-4:], "big") % HELD_OUT_MODULO == 0


def main() -> None:
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return
    methods = {"box": [], "ellipse": [], "colour": []}
    seconds = {k: 0.0 for k in methods}
    images = 0
    for part in ("train", "valid", "test"):
        dataset = load_dataset(DATA / part)
        for item in dataset.items:
            if not _held_out(item.name) or item.labels is None:
                continue
            image = load_image(item.path)
            hw = image.shape[:2]
            boxes = label_boxes(item.labels)
            truth = [_polygon(o, hw) for o in item.labels.outlines]
            images += 1
            for name in methods:
                t = time.perf_counter()
                if name == "box":
                    masks = [_rect(b, hw) for b in boxes]
                elif name == "ellipse":
                    masks = list(ellipse_masks(boxes, hw))
                else:
                    masks = list(colour_masks(image, boxes))
                seconds[name] += time.perf_counter() - t
                methods[name] += [_iou(m, t_) for m, t_ in zip(masks, truth, strict=True)]
    result = {
        name: {
            "mean_iou": round(float(np.mean(v)), 3),
            "animals": len(v),
            "ms_per_image": round(1000 * seconds[name] / max(images, 1), 2),
        }
        for name, v in methods.items()
    }
    result["images"] = images
    print(f"{images} held-out photos of pig_seg_roboflow, true boxes")
    for name in methods:
        r = result[name]
        print(f"{name:8s} mean IoU {r['mean_iou']:.3f}  ({r['ms_per_image']:.1f} ms/image)")
    out = ROOT / "bench" / "results" / "masks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


def _polygon(outline: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(hw, np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    return mask.astype(bool)


def _rect(box: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(hw, bool)
    x1, y1, x2, y2 = np.round(box).astype(int)
    mask[y1:y2, x1:x2] = True
    return mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0


if __name__ == "__main__":
    main()
