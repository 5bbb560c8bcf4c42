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
from pigweight.training.data import label_boxes
from pigweight.training.splits import held_out_name
from pigweight.vision.box_masks import ellipse_masks
from pigweight.vision.classic_colour import skin_map

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "pig_seg_roboflow"


def colour_masks(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, H, W): skin pixels (the classic segmenter's colour model, at 480 px) inside each
    box's ellipse; the ellipse where the skin covers under 35 % of it."""
    frame_hw = (int(image.shape[0]), int(image.shape[1]))
    masks = ellipse_masks(boxes, frame_hw)
    scale = min(1.0, 480 / max(frame_hw))
    work = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    skin = cv2.resize(
        skin_map(np.ascontiguousarray(work)).mask, frame_hw[::-1], interpolation=cv2.INTER_NEAREST
    ).astype(bool)
    for mask in masks:
        inside = mask & skin
        if inside.sum() >= 0.35 * max(1, mask.sum()):
            mask &= inside
    return masks


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
            if not held_out_name("pig_seg_roboflow", item.name) or item.labels is None:
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
