"""Training samples: labelled folders of every format the project reads, and synthetic scenes.

A sample is an RGB image and one xyxy box per animal. Outlines (YOLO boxes and polygons,
rotated boxes, `labels.txt` boxes) give their bounding box; points give a square whose
side is 0.8 of the distance to the nearest other animal (a set of points says where the
animals are, not how big); a set with counts only cannot teach boxes and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pigweight.domain import Image
from pigweight.evaluation.datasets import DatasetItem, load_dataset
from pigweight.evaluation.labels import AnimalLabels, InvalidDataset
from pigweight.media.images import load_image

Boxes = npt.NDArray[np.float32]  # (K, 4) x1, y1, x2, y2 in image pixels
POINT_BOX_SHARE = 0.8
SYNTH_SIZE = (960, 540)  # synthetic frames are drawn at this size: the detector sees 416


@dataclass(frozen=True, slots=True)
class Sample:
    """One training or evaluation image, loaded when asked."""

    source: str  # the set it came from (a folder name, or "synthetic")
    name: str  # file name, or "seed-<n>-frame-<i>"
    group: str  # near-duplicates share a group, and a group shares a split
    load: Callable[[], tuple[Image, Boxes]]
    path: Path | None = None  # the image file, for the leakage check


def folder_samples(root: Path) -> list[Sample]:
    """Every labelled image under `root` (a set folder, or a folder of set folders)."""
    roots = set_roots(root)
    if not roots:
        raise InvalidDataset(f"{root}: no images/ folder in it or in its subfolders")
    samples: list[Sample] = []
    for set_root in roots:
        dataset = load_dataset(set_root)
        if dataset.label_kind is None:
            raise InvalidDataset(
                f"{set_root}: it has counts only; training needs a box, outline or point "
                "per animal (labels/, labels.txt, xmls/ or points.csv)"
            )
        source = root.name
        for item in dataset.items:
            samples.append(
                Sample(source, item.name, group_of(source, item.name), _loader(item), item.path)
            )
    return samples


def set_roots(root: Path) -> list[Path]:
    if (root / "images").is_dir():
        return [root]
    return sorted(p for p in root.iterdir() if (p / "images").is_dir()) if root.is_dir() else []


def _loader(item: DatasetItem) -> Callable[[], tuple[Image, Boxes]]:
    def load() -> tuple[Image, Boxes]:
        image = load_image(item.path)
        assert item.labels is not None
        return image, label_boxes(item.labels)

    return load


def label_boxes(labels: AnimalLabels) -> Boxes:
    """One xyxy box per labelled animal."""
    if labels.kind == "points":
        return _point_boxes(labels.points)
    if not labels.outlines:
        return np.zeros((0, 4), np.float32)
    return np.array([[*o.min(0), *o.max(0)] for o in labels.outlines], np.float32).reshape(-1, 4)


def _point_boxes(points: npt.NDArray[np.float32]) -> Boxes:
    if len(points) == 0:
        return np.zeros((0, 4), np.float32)
    if len(points) == 1:
        return np.zeros((0, 4), np.float32)  # no neighbour, no size: teach nothing wrong
    d = np.linalg.norm(points[:, None] - points[None], axis=2)
    np.fill_diagonal(d, np.inf)
    half = POINT_BOX_SHARE * d.min(1)[:, None] / 2
    return np.concatenate([points - half, points + half], 1).astype(np.float32)


def group_of(source: str, name: str) -> str:
    """Near-duplicates share a group: Roboflow's augmented copies of one photo (`x_jpg.rf.*`),
    and neighbouring frames of one video (`00000123.jpg`, in runs of 25)."""
    stem = name.split(".rf.")[0] if ".rf." in name else Path(name).stem
    if stem.isdigit() and len(stem) >= 6:
        return f"{source}/frames-{int(stem) // 25:05d}"
    return f"{source}/{stem}"


def synthetic_samples(
    seeds: range, frames_per_seed: int, cache_dir: Path | None = None
) -> list[Sample]:
    """Frames of demo scenes (`pigweight demo-video`'s generator) with their exact truth.

    Seeds 0-4 are the synthetic evaluation set; training seeds start at 1000.
    """
    samples = []
    for seed in seeds:
        for k in range(frames_per_seed):
            samples.append(
                Sample(
                    "synthetic",
                    f"seed-{seed}-frame-{k}",
                    f"synthetic/{seed}",
                    _cached(_synth_loader(seed, k, frames_per_seed), cache_dir, f"{seed}-{k}"),
                )
            )
    return samples


def _synth_loader(seed: int, k: int, per_seed: int) -> Callable[[], tuple[Image, Boxes]]:
    def load() -> tuple[Image, Boxes]:
        from pigweight.synthetic.scene import DemoScene

        rng = np.random.default_rng([seed, k])
        scene = DemoScene(
            seed=seed,
            width=SYNTH_SIZE[0],
            height=SYNTH_SIZE[1],
            fps=5,
            seconds=60,
            n_animals=(8, 45),
            ir=bool(rng.random() < 0.25),
            timestamp=bool(rng.random() < 0.5),
        )
        index = int((k + rng.random()) / per_seed * scene.frame_count) % scene.frame_count
        frame = scene.frame(index)
        return frame.image, mask_boxes(frame.masks)

    return load


def _cached(
    load: Callable[[], tuple[Image, Boxes]], cache_dir: Path | None, key: str
) -> Callable[[], tuple[Image, Boxes]]:
    """Drawing a scene takes about a second: keep each one as a PNG and its boxes."""
    if cache_dir is None:
        return load

    def cached() -> tuple[Image, Boxes]:
        image_path, boxes_path = cache_dir / f"{key}.png", cache_dir / f"{key}.npy"
        if image_path.exists() and boxes_path.exists():
            return load_image(image_path), np.load(boxes_path)
        image, boxes = load()
        cache_dir.mkdir(parents=True, exist_ok=True)
        from PIL import Image as PILImage

        PILImage.fromarray(image).save(image_path.with_suffix(".part.png"))
        np.save(boxes_path.with_suffix(".part.npy"), boxes)
        image_path.with_suffix(".part.png").replace(image_path)
        boxes_path.with_suffix(".part.npy").replace(boxes_path)
        return image, boxes

    return cached


def mask_boxes(masks: npt.NDArray[np.bool_]) -> Boxes:
    """Bounding boxes of (K, H, W) masks; empty masks are dropped."""
    out = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        if len(xs):
            out.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.asarray(out, np.float32).reshape(-1, 4)


def iterate_forever(samples: list[Sample], rng: np.random.Generator) -> Iterator[Sample]:
    """Shuffled epochs, one after another."""
    while True:
        for index in rng.permutation(len(samples)):
            yield samples[int(index)]


def iterate_balanced(groups: list[list[Sample]], rng: np.random.Generator) -> Iterator[Sample]:
    """Each non-empty group as often as any other (a camera's days and nights), each in
    shuffled epochs of its own."""
    streams = [iterate_forever(group, rng) for group in groups if group]
    while True:
        yield next(streams[int(rng.integers(len(streams)))])
