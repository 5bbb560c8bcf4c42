"""Platforms crowded with real pigs: cut-outs from labelled photos pasted onto drawn floors.

The drawn demo animals teach the platform's layout and crowding but not what a pig's skin,
ears and legs look like from above; the labelled photos teach the pig but rarely from
above and never crowded on a platform. A composite frame takes both: the floor, rails,
gates, dirt and light of `synthetic/floor.py`, and 4-45 real pigs cut out along their
outline (Roboflow's polygons, the farrowing crate's rotated boxes as their inscribed
ellipse), each turned to any angle, scaled to one age group per frame, with a soft
shadow, mostly gathered in touching groups on the platform, some in the aisles and some
cut by the frame's edge. A steel rail may cross over them, and the whole picture may be
bent by a wide-angle lens like a ceiling camera's (the boxes are taken after the bend).

Only training images give cut-outs for training frames (the split's held-out photos give
the validation frames' cut-outs), so no evaluation image reaches a composite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from pigweight.domain import Image
from pigweight.evaluation.datasets import DatasetItem, load_dataset
from pigweight.media.images import load_image
from pigweight.synthetic.floor import Platform, draw_platform
from pigweight.training.data import SYNTH_SIZE, Boxes, Sample, set_roots

MAX_SIDE = 192  # cut-outs are kept at most this long (pasted at 40-190 px)
MIN_AREA = 600  # outlines smaller than this (px) give no cut-out
MAX_OVERLAP = 0.25  # a pasted pig may hide at most this share of the ones under it
KEEP_VISIBLE = 0.5  # an animal is labelled when half of it is in the frame and unhidden
FLOORS = 24  # drawn floors per bank, reused with flips (drawing one takes ~0.1 s)


@dataclass(frozen=True, slots=True)
class Cutout:
    """One pig cut along its outline: RGB and a 0-1 alpha of the same size."""

    rgb: npt.NDArray[np.uint8]
    alpha: npt.NDArray[np.float32]


class CutoutBank:
    """The cut-outs of some labelled images and a few drawn floors, made once, when first asked."""

    def __init__(self, folders: list[Path], keep: Callable[[str, str], bool]) -> None:
        self._folders = folders
        self._keep = keep  # (set name, image name) -> use this image
        self._cutouts: list[Cutout] | None = None
        self._floors: list[tuple[Image, npt.NDArray[np.float32]]] = []

    def images(self) -> list[Path]:
        """The image files the cut-outs come from (for the leakage check)."""
        return [item.path for folder in self._folders for item in cut_from(folder, self._keep)]

    @property
    def cutouts(self) -> list[Cutout]:
        if self._cutouts is None:
            self._cutouts = [
                c for folder in self._folders for c in folder_cutouts(folder, self._keep)
            ]
        return self._cutouts

    def floor(self, rng: np.random.Generator) -> tuple[Image, npt.NDArray[np.float32]]:
        if len(self._floors) < FLOORS:
            platform = Platform.for_frame(SYNTH_SIZE[0], SYNTH_SIZE[1], rng)
            self._floors.append(draw_platform(platform, rng))
        image, light = self._floors[int(rng.integers(len(self._floors)))]
        if rng.random() < 0.5:
            image, light = image[:, ::-1], light[:, ::-1]
        if rng.random() < 0.5:
            image, light = image[::-1], light[::-1]
        return image, light


def cut_from(root: Path, keep: Callable[[str, str], bool]) -> list[DatasetItem]:
    """The kept images of one labelled set that have outlines to cut along."""
    items: list[DatasetItem] = []
    for set_root in set_roots(root):
        dataset = load_dataset(set_root)
        if dataset.label_kind == "polygons":
            items += [i for i in dataset.items if i.labels and keep(root.name, i.name)]
    return items


def folder_cutouts(root: Path, keep: Callable[[str, str], bool]) -> list[Cutout]:
    """Cut-outs of the whole, unhidden outlines of the kept images of one labelled set."""
    out: list[Cutout] = []
    for item in cut_from(root, keep):
        assert item.labels is not None
        out += image_cutouts(load_image(item.path), list(item.labels.outlines))
    return out


def image_cutouts(image: Image, outlines: list[npt.NDArray[np.float32]]) -> list[Cutout]:
    """An outline gives a cut-out when it is big enough, inside the picture and not hidden
    under another one; a 4-corner outline (a rotated box) is cut as its inscribed ellipse."""
    h, w = image.shape[:2]
    out: list[Cutout] = []
    boxes = [(*o.min(0), *o.max(0)) for o in outlines]
    for k, outline in enumerate(outlines):
        x1, y1, x2, y2 = boxes[k]
        if x1 < 2 or y1 < 2 or x2 > w - 2 or y2 > h - 2:
            continue  # cut by the picture's edge
        if any(_overlap_share(boxes[k], b) > 0.3 for j, b in enumerate(boxes) if j != k):
            continue  # touching or under another pig: its outline may be partial
        ix1, iy1, ix2, iy2 = int(x1), int(y1), int(np.ceil(x2)) + 1, int(np.ceil(y2)) + 1
        mask = np.zeros((iy2 - iy1, ix2 - ix1), np.uint8)
        local = (outline - np.array([ix1, iy1], np.float32)).astype(np.float32)
        if len(outline) == 4:
            (cx, cy), (bw, bh), angle = cv2.minAreaRect(local)
            axes = (max(1, round(bw / 2)), max(1, round(bh / 2)))
            cv2.ellipse(mask, (round(cx), round(cy)), axes, angle, 0, 360, 255, -1, cv2.LINE_AA)
        else:
            cv2.fillPoly(mask, [np.round(local).astype(np.int32)], 255, cv2.LINE_AA)
        if int((mask > 127).sum()) < MIN_AREA or not _pig_shaped(local):
            continue
        rgb = np.ascontiguousarray(image[iy1:iy2, ix1:ix2])
        gain = min(1.0, MAX_SIDE / max(mask.shape))
        if gain < 1.0:
            size = (max(1, round(mask.shape[1] * gain)), max(1, round(mask.shape[0] * gain)))
            rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.uint8)
            mask = np.asarray(cv2.resize(mask, size, interpolation=cv2.INTER_AREA), np.uint8)
        out.append(Cutout(np.asarray(rgb, np.uint8), mask.astype(np.float32) / 255.0))
    return out


def _pig_shaped(outline: npt.NDArray[np.float32]) -> bool:
    """A whole body: elongated (1.2-4 times as long as wide) and solid (no bites out of it,
    which a head close-up, a pig half behind a gate or a sloppy polygon has)."""
    (_, _), (a, b), _ = cv2.minAreaRect(outline)
    if min(a, b) < 1 or not 1.2 <= max(a, b) / min(a, b) <= 4.0:
        return False
    hull = cv2.contourArea(cv2.convexHull(outline))
    return hull > 0 and cv2.contourArea(outline) / hull >= 0.72


def _overlap_share(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return iw * ih / max(1e-6, (a[2] - a[0]) * (a[3] - a[1]))


def composite_samples(bank: CutoutBank, seeds: range, name: str = "composite") -> list[Sample]:
    """One composite frame per seed, drawn when loaded (the same frame for the same seed)."""
    return [Sample(name, f"{name}-{seed}", f"{name}/{seed}", _loader(bank, seed)) for seed in seeds]


def _loader(bank: CutoutBank, seed: int) -> Callable[[], tuple[Image, Boxes]]:
    def load() -> tuple[Image, Boxes]:
        return composite_frame(bank, np.random.default_rng([7919, seed]))

    return load


def composite_frame(bank: CutoutBank, rng: np.random.Generator) -> tuple[Image, Boxes]:
    """A drawn platform with real pigs on it, and one xyxy box per labelled pig."""
    floor, light = bank.floor(rng)
    cutouts = bank.cutouts
    h, w = floor.shape[:2]
    canvas = floor.astype(np.float32)
    ids = np.zeros((h, w), np.int32)
    full_area: list[float] = []
    if cutouts:
        length = w * rng.uniform(0.06, 0.2)  # one age group per weighing
        centres = _group_centres(rng, w, h, int(rng.integers(1, 4)))
        for _ in range(int(rng.integers(4, 46))):
            cut = cutouts[int(rng.integers(len(cutouts)))]
            rgb, alpha = _turned(cut, rng.uniform(0, 360), length * rng.uniform(0.8, 1.2), rng)
            placed = _place(ids, alpha, centres, length, rng)
            if placed is None:
                continue
            full_area.append(float((alpha > 0.5).sum()))
            _paste(canvas, ids, light, rgb, alpha, placed, len(full_area), rng)
    if rng.random() < 0.3:
        _rail(canvas, ids, rng)
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    kept = _visible(ids, full_area)  # decided before the lens, which shrinks areas
    if rng.random() < 0.7:
        image, ids = _lens(image, ids, rng.uniform(0.05, 0.35))
    return image, _boxes(ids, kept)


def _group_centres(rng: np.random.Generator, w: int, h: int, n: int) -> npt.NDArray[np.float64]:
    return np.stack([rng.uniform(0.2, 0.8, n) * w, rng.uniform(0.25, 0.75, n) * h], 1)


def _turned(
    cut: Cutout, angle: float, length: float, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The cut-out turned by `angle` degrees and scaled to `length` px along its long side."""
    h, w = cut.alpha.shape
    scale = length / max(h, w)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    ow, oh = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
    matrix[0, 2] += ow / 2 - w / 2
    matrix[1, 2] += oh / 2 - h / 2
    rgb = cv2.warpAffine(cut.rgb, matrix, (ow, oh), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(cut.alpha, matrix, (ow, oh), flags=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
    gain = rng.uniform(0.8, 1.15)
    return np.asarray(rgb, np.float32) * gain, np.asarray(alpha, np.float32)


def _place(
    ids: npt.NDArray[np.int32],
    alpha: npt.NDArray[np.float32],
    centres: npt.NDArray[np.float64],
    length: float,
    rng: np.random.Generator,
) -> tuple[int, int] | None:
    """Top-left corner for a pig: near a group centre (most), anywhere (some, cut by the
    edge or in the aisle); never hiding more than MAX_OVERLAP of what is under it."""
    h, w = ids.shape
    ph, pw = alpha.shape
    body = alpha > 0.5
    for _ in range(12):
        if rng.random() < 0.85:
            centre = centres[int(rng.integers(len(centres)))]
            cx, cy = rng.normal(centre, length * 1.3)
        else:
            cx, cy = rng.uniform(-0.3 * pw, w + 0.3 * pw), rng.uniform(-0.3 * ph, h + 0.3 * ph)
        x0, y0 = round(cx - pw / 2), round(cy - ph / 2)
        ys, xs = slice(max(0, y0), min(h, y0 + ph)), slice(max(0, x0), min(w, x0 + pw))
        if ys.start >= ys.stop or xs.start >= xs.stop:
            continue
        under = ids[ys, xs]
        mine = body[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        if (under[mine] > 0).sum() <= MAX_OVERLAP * max(1, body.sum()):
            return x0, y0
    return None


def _paste(
    canvas: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int32],
    light: npt.NDArray[np.float32],
    rgb: npt.NDArray[np.float32],
    alpha: npt.NDArray[np.float32],
    at: tuple[int, int],
    label: int,
    rng: np.random.Generator,
) -> None:
    h, w = ids.shape
    x0, y0 = at
    ph, pw = alpha.shape
    ys, xs = slice(max(0, y0), min(h, y0 + ph)), slice(max(0, x0), min(w, x0 + pw))
    local = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
    a = alpha[local][..., None]
    # a soft shadow a few pixels off, then the pig lit like the floor under it
    shift = rng.integers(1, max(2, pw // 12) + 1, 2)
    shadow = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 1 + pw / 40), np.float32)
    shadow = np.roll(shadow, tuple(int(s) for s in shift), axis=(0, 1))[local][..., None]
    region = canvas[ys, xs]
    region *= 1 - 0.35 * shadow
    lit = rgb[local] * light[ys, xs][..., None]
    region[:] = region * (1 - a) + lit * a
    ids[ys, xs][a[..., 0] > 0.5] = label


def _rail(
    canvas: npt.NDArray[np.float32], ids: npt.NDArray[np.int32], rng: np.random.Generator
) -> None:
    """A steel rail or gate bar across the picture, over the animals (it hides them)."""
    h, w = ids.shape
    vertical = rng.random() < 0.5
    at = rng.uniform(0.15, 0.85) * (w if vertical else h)
    thick = max(3, round(rng.uniform(0.006, 0.014) * w))
    a, b = ((at, 0), (at, h)) if vertical else ((0, at), (w, at))
    p, q = (round(a[0]), round(a[1])), (round(b[0]), round(b[1]))
    cover = np.zeros((h, w), np.uint8)
    cv2.line(cover, p, q, 255, thick + 2)
    cv2.line(canvas, p, q, (110, 114, 116), thick + 2, cv2.LINE_AA)
    cv2.line(canvas, p, q, (200, 204, 206), max(1, thick // 2), cv2.LINE_AA)
    ids[cover > 0] = 0


def _lens(
    image: Image, ids: npt.NDArray[np.int32], k1: float
) -> tuple[Image, npt.NDArray[np.int32]]:
    """Barrel distortion of a wide-angle ceiling camera (r' = r (1 + k1 r^2), frame kept)."""
    h, w = ids.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, f = w / 2, h / 2, max(w, h) / 2
    nx, ny = (xx - cx) / f, (yy - cy) / f
    r2 = nx * nx + ny * ny
    corner = ((w / 2) ** 2 + (h / 2) ** 2) / f**2
    gain = (1 + k1 * r2) / (1 + k1 * corner)  # output pixel -> where it comes from
    map_x, map_y = cx + nx * f * gain, cy + ny * f * gain
    bent = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    bent_ids = cv2.remap(ids.astype(np.float32), map_x, map_y, cv2.INTER_NEAREST)
    return np.asarray(bent, np.uint8), bent_ids.astype(np.int32)


def _visible(ids: npt.NDArray[np.int32], full_area: list[float]) -> set[int]:
    """Labels of the animals at least KEEP_VISIBLE inside the frame and unhidden."""
    seen = np.bincount(ids.ravel(), minlength=len(full_area) + 1)
    return {k for k in range(1, len(full_area) + 1) if seen[k] >= KEEP_VISIBLE * full_area[k - 1]}


def _boxes(ids: npt.NDArray[np.int32], kept: set[int]) -> Boxes:
    boxes = []
    for label, found in enumerate(ndimage.find_objects(ids), start=1):
        if found is not None and label in kept:
            ys, xs = found
            boxes.append([xs.start, ys.start, xs.stop, ys.stop])
    return np.asarray(boxes, np.float32).reshape(-1, 4)
