"""A labelled photo set on disk -> `Dataset`: one item per image with its true count.

A set is a folder with `images/` and the truth in one or more of:
`counts.csv` (`image,<count column>`), `points.csv` (`image,x,y`), `xmls/` (roLabelImg),
`labels/` (YOLO .txt), `labels.txt` (`frame,x,y,w,h`) or `labels.csv` (one row per animal).
`counts.csv` wins for the count; the first per-animal form found gives the labels.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage

from pigweight.evaluation.labels import (
    AnimalLabels,
    InvalidDataset,
    LabelKind,
    read_frame_boxes,
    read_points_csv,
    read_rotated_xml,
    read_yolo_txt,
)
from pigweight.media.images import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)

_IMAGE_COLUMNS = ("image", "file", "filename", "file_name", "image_name", "name", "path")
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap w and h


@dataclass(frozen=True, slots=True)
class DatasetItem:
    """One labelled image."""

    name: str  # file name inside images/
    path: Path
    true_count: int
    labels: AnimalLabels | None = None  # per-animal labels, when the set has them


@dataclass(frozen=True, slots=True)
class Dataset:
    """The images of one set, sorted by name, each with its truth."""

    name: str
    root: Path
    items: tuple[DatasetItem, ...]
    count_source: str  # the file the true counts come from
    label_kind: LabelKind | None = None  # None: counts only

    def __len__(self) -> int:
        return len(self.items)


def load_dataset(root: Path | str) -> Dataset:
    """Read a set folder; raises InvalidDataset naming the file that is missing or wrong."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidDataset(f"{root}: no such folder (give a folder holding images/)")
    images_dir = root / "images"
    images = _list_images(images_dir)
    labels, label_source = _read_labels(root, images)
    counts, count_source = _read_counts(root, images, labels, label_source)
    items = tuple(
        DatasetItem(name, images[name], counts[name], labels.get(name) if labels else None)
        for name in sorted(images)
        if name in counts
    )
    skipped = len(images) - len(items)
    if skipped:
        logger.warning("%s: %d images have no count in %s; skipped", root, skipped, count_source)
    if labels:
        _warn_disagreements(root, items)
    return Dataset(root.name, root, items, count_source, _dataset_kind(labels))


def _dataset_kind(labels: dict[str, AnimalLabels]) -> LabelKind | None:
    kinds = {lab.kind for lab in labels.values()}
    order: tuple[LabelKind, ...] = ("polygons", "boxes", "points")
    return next((kind for kind in order if kind in kinds), None)


def _list_images(images_dir: Path) -> dict[str, Path]:
    if not images_dir.is_dir():
        raise InvalidDataset(
            f"{images_dir}: missing; a data set folder holds its photos in images/"
        )
    images = {
        p.name: p
        for p in images_dir.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    }
    if not images:
        raise InvalidDataset(f"{images_dir}: holds no photos (JPEG, PNG, BMP, TIFF or WebP)")
    return images


def _read_labels(root: Path, images: dict[str, Path]) -> tuple[dict[str, AnimalLabels], str | None]:
    """Labels for every image from the first per-animal form present (absent file: none)."""
    by_stem = {Path(name).stem: name for name in images}
    if (root / "points.csv").is_file():
        points = read_points_csv(root / "points.csv")
        _check_known(root / "points.csv", points, images)
        empty = AnimalLabels.from_points([])
        return {name: points.get(name, empty) for name in images}, "points.csv"
    if (root / "xmls").is_dir():
        return _per_image_files(root / "xmls", ".xml", images, _read_xml), "xmls/"
    if (root / "labels").is_dir():
        return _per_image_files(root / "labels", ".txt", images, _read_yolo), "labels/"
    if (root / "labels.txt").is_file():
        frames = read_frame_boxes(root / "labels.txt")
        empty = AnimalLabels.from_outlines([], all_boxes=True)
        labels = {name: empty for name in images}
        for frame, boxes in frames.items():
            name = by_stem.get(f"{frame:08d}")
            if name is not None:
                labels[name] = boxes
        return labels, "labels.txt"
    return {}, None


def _per_image_files(
    folder: Path,
    suffix: str,
    images: dict[str, Path],
    read: Callable[[Path, Path], AnimalLabels],
) -> dict[str, AnimalLabels]:
    # A per-image label file that is absent means "no animals here" (the YOLO convention).
    empty = AnimalLabels.from_outlines([], all_boxes=True)
    labels: dict[str, AnimalLabels] = {}
    for name, image_path in images.items():
        label_path = folder / (Path(name).stem + suffix)
        labels[name] = read(label_path, image_path) if label_path.is_file() else empty
    return labels


def _read_xml(label_path: Path, image_path: Path) -> AnimalLabels:
    return read_rotated_xml(label_path)


def _read_yolo(label_path: Path, image_path: Path) -> AnimalLabels:
    # YOLO coordinates are fractions of the image size, so the size is needed here.
    return read_yolo_txt(label_path, _image_size(image_path))


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) as load_image will return it, without decoding the pixels."""
    try:
        with PILImage.open(path) as pil:
            w, h = pil.size
            orientation = pil.getexif().get(_EXIF_ORIENTATION)
    except OSError as exc:
        raise InvalidDataset(f"{path}: not a readable image ({exc})") from None
    return (h, w) if orientation in _TRANSPOSED_ORIENTATIONS else (w, h)


def _read_counts(
    root: Path,
    images: dict[str, Path],
    labels: dict[str, AnimalLabels],
    label_source: str | None,
) -> tuple[dict[str, int], str]:
    if (root / "counts.csv").is_file():
        counts = _read_count_column(root / "counts.csv")
        _check_known(root / "counts.csv", counts, images)
        if label_source:
            # Images missing from counts.csv still have a truth: their labels.
            counts = {name: counts.get(name, len(labels[name])) for name in images}
        return counts, "counts.csv"
    if label_source:
        return {name: len(lab) for name, lab in labels.items()}, label_source
    if (root / "labels.csv").is_file():
        counts = _count_rows(root / "labels.csv")
        _check_known(root / "labels.csv", counts, images)
        return counts, "labels.csv"
    raise InvalidDataset(
        f"{root}: no truth found; add counts.csv (image,count) or per-animal labels "
        "(points.csv, xmls/, labels/ or labels.txt)"
    )


def _read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        fields = [f.strip() for f in reader.fieldnames or ()]
    if not fields:
        raise InvalidDataset(f"{path}: empty; expected a header line such as image,count")
    return fields, [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in rows]


def _image_column(path: Path, fields: list[str]) -> str:
    lowered = {f.lower(): f for f in fields}
    for candidate in _IMAGE_COLUMNS:
        if candidate in lowered:
            return lowered[candidate]
    raise InvalidDataset(f"{path}: no image column; name the first column 'image'")


def _read_count_column(path: Path) -> dict[str, int]:
    fields, rows = _read_table(path)
    image_col = _image_column(path, fields)
    count_col = _pick_count_column(fields, rows, image_col)
    if count_col is None:
        raise InvalidDataset(f"{path}: no count column; name it 'count' (whole numbers)")
    counts: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not row.get(image_col):
            continue
        value = _as_count(row.get(count_col, ""))
        if value is None:
            raise InvalidDataset(f"{path}:{line}: {count_col} must be a whole number >= 0")
        counts[row[image_col]] = value
    return counts


def _pick_count_column(fields: list[str], rows: list[dict[str, str]], image_col: str) -> str | None:
    """`count`, else a column named like a count, else the first all-whole-number column."""
    others = [f for f in fields if f != image_col]
    for f in others:
        if f.lower() == "count":
            return f
    for hint in ("count", "label", "number", "pigs", "piglets", "animals"):
        for f in others:
            if hint in f.lower():
                return f
    for f in others:
        if rows and all(_as_count(r.get(f, "")) is not None for r in rows):
            return f
    return None


def _as_count(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value >= 0 and value.is_integer() else None


def _count_rows(path: Path) -> dict[str, int]:
    """One row per animal: the count of an image is its number of rows."""
    fields, rows = _read_table(path)
    image_col = _image_column(path, fields)
    return dict(Counter(r[image_col] for r in rows if r.get(image_col)))


def _check_known(path: Path, named: Mapping[str, object], images: dict[str, Path]) -> None:
    unknown = sorted(set(named) - set(images))
    if unknown:
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise InvalidDataset(
            f"{path}: names {unknown[0]!r}{more}, which is not in {path.parent / 'images'}"
        )


def _warn_disagreements(root: Path, items: tuple[DatasetItem, ...]) -> None:
    for item in items:
        if item.labels is not None and len(item.labels) != item.true_count:
            logger.warning(
                "%s: %s counts %d but its labels mark %d animals",
                root,
                item.name,
                item.true_count,
                len(item.labels),
            )
