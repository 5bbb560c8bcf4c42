"""Per-animal labels in the forms farm data sets come in, converted to pixel coordinates.

Every reader returns `AnimalLabels`: one point or one outline per animal, in pixels of the
image as stored on disk. Axis-aligned and rotated boxes become 4-corner outlines so that the
matcher needs only two cases: points and regions.
"""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from pigweight.errors import PigWeightError

LabelKind = Literal["points", "boxes", "polygons"]
Outline = npt.NDArray[np.float32]  # (M, 2) x, y in pixels


class InvalidDataset(PigWeightError, ValueError):
    """The folder is not an evaluation data set, or one of its label files is unreadable."""


def _no_points() -> npt.NDArray[np.float32]:
    return np.zeros((0, 2), np.float32)


@dataclass(frozen=True, slots=True)
class AnimalLabels:
    """What a person marked on one image: one point or one outline per animal."""

    kind: LabelKind  # boxes: axis-aligned outlines; polygons: any outline (rotated boxes too)
    points: npt.NDArray[np.float32] = field(default_factory=_no_points)  # (K, 2) x, y px
    outlines: tuple[Outline, ...] = ()  # K outlines for boxes and polygons

    def __len__(self) -> int:
        return len(self.points) if self.kind == "points" else len(self.outlines)

    @classmethod
    def from_points(cls, xy: list[tuple[float, float]]) -> AnimalLabels:
        points = np.asarray(xy, np.float32).reshape(-1, 2)
        return cls(kind="points", points=points)

    @classmethod
    def from_outlines(cls, outlines: list[Outline], all_boxes: bool) -> AnimalLabels:
        return cls(kind="boxes" if all_boxes else "polygons", outlines=tuple(outlines))


def box_outline(x1: float, y1: float, x2: float, y2: float) -> Outline:
    """The 4 corners of an axis-aligned box, clockwise from top-left."""
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def rotated_box_outline(cx: float, cy: float, w: float, h: float, angle_rad: float) -> Outline:
    """Corners of a roLabelImg box: (w, h) turned by `angle_rad` about its centre.

    roLabelImg stores the angle so that the usual rotation matrix applies in image
    coordinates (y down), which turns the box clockwise on screen for positive angles.
    """
    cos_a, sin_a = math.cos(angle_rad), math.sin(angle_rad)
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], np.float64) / 2
    xs = cx + half[:, 0] * cos_a - half[:, 1] * sin_a
    ys = cy + half[:, 0] * sin_a + half[:, 1] * cos_a
    return np.stack([xs, ys], axis=1).astype(np.float32)


def read_points_csv(path: Path) -> dict[str, AnimalLabels]:
    """`image,x,y` rows, one per animal -> labels per image file name."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"image", "x", "y"} - set(reader.fieldnames or ())
        if missing:
            raise InvalidDataset(f"{path}: needs the columns image,x,y (missing {sorted(missing)})")
        for line, row in enumerate(reader, start=2):
            try:
                points[row["image"].strip()].append((float(row["x"]), float(row["y"])))
            except (TypeError, ValueError):
                raise InvalidDataset(f"{path}:{line}: x and y must be numbers") from None
    return {name: AnimalLabels.from_points(xy) for name, xy in points.items()}


def read_frame_boxes(path: Path) -> dict[int, AnimalLabels]:
    """`frame,x_left,y_top,width,height` lines (`#` comments) -> box labels per frame."""
    boxes: dict[int, list[Outline]] = defaultdict(list)
    for line_no, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            frame_text, *rest = line.split(",")
            x, y, w, h = (float(v) for v in rest)
            frame = int(frame_text)
        except ValueError:
            raise InvalidDataset(
                f"{path}:{line_no}: expected frame,x_left,y_top,width,height, got {raw!r}"
            ) from None
        boxes[frame].append(box_outline(x, y, x + w, y + h))
    return {frame: AnimalLabels.from_outlines(o, all_boxes=True) for frame, o in boxes.items()}


def read_rotated_xml(path: Path) -> AnimalLabels:
    """roLabelImg / Pascal VOC XML: `robndbox` (cx, cy, w, h, angle rad) and `bndbox`."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InvalidDataset(f"{path}: not valid XML ({exc})") from None
    outlines: list[Outline] = []
    all_boxes = True
    try:
        for obj in root.iter("object"):
            rotated, plain = obj.find("robndbox"), obj.find("bndbox")
            if rotated is not None:
                cx, cy, w, h, angle = (
                    _xml_number(rotated, k) for k in ("cx", "cy", "w", "h", "angle")
                )
                outlines.append(rotated_box_outline(cx, cy, w, h, angle))
                all_boxes = False
            elif plain is not None:
                x1, y1, x2, y2 = (_xml_number(plain, k) for k in ("xmin", "ymin", "xmax", "ymax"))
                outlines.append(box_outline(x1, y1, x2, y2))
    except (TypeError, ValueError):
        raise InvalidDataset(f"{path}: a box has a missing or non-numeric coordinate") from None
    return AnimalLabels.from_outlines(outlines, all_boxes=all_boxes)


def _xml_number(node: ET.Element, tag: str) -> float:
    child = node.find(tag)
    if child is None or child.text is None:
        raise ValueError(tag)
    return float(child.text)


def read_yolo_txt(path: Path, size_wh: tuple[int, int]) -> AnimalLabels:
    """YOLO `class cx cy w h` boxes or `class x1 y1 x2 y2 ...` polygons, normalised 0-1."""
    w, h = size_wh
    outlines: list[Outline] = []
    all_boxes = True
    for line_no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        try:
            values = [float(v) for v in fields[1:]]
        except ValueError:
            raise InvalidDataset(f"{path}:{line_no}: coordinates must be numbers") from None
        if len(values) == 4:
            cx, cy, bw, bh = values
            outlines.append(
                box_outline(
                    (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h
                )
            )
        elif len(values) >= 6 and len(values) % 2 == 0:
            xy = np.asarray(values, np.float32).reshape(-1, 2) * np.array([w, h], np.float32)
            outlines.append(xy)
            all_boxes = False
        else:
            raise InvalidDataset(
                f"{path}:{line_no}: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...'"
            )
    return AnimalLabels.from_outlines(outlines, all_boxes=all_boxes)
