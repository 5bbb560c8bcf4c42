"""Labelled frames in and out as a YOLO-format folder, and the split by time.

Out: `images/00000000.jpg …` (training frames, then validation, then held out, each in the
order they were seen), `labels/00000000.txt` (one `0 cx cy w h` line per animal,
normalised), `data.yaml` (one class, `pig`; `held_out_from` and `validate_from`, the first
numbers of those parts) and `frames.csv` (each file's frame id, time, origin and part).
`pigweight train --base MODEL --data FOLDER --split-at <held_out_from> --validate-from
<validate_from>` fine-tunes on it anywhere (a GPU machine), with the same split as the page.

In: a zip of such a folder, or of any set `pigweight eval` reads (YOLO boxes or polygons,
`labels.txt`, rotated-box XML, points): labels made in CVAT or Label Studio come in. An
image without a label file comes in unlabelled.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pigweight.errors import Refusal

HELD_OUT_SHARE = 0.2
VALIDATION_SHARE = 0.1  # of all frames, taken from the newest of the training part
MIN_FOR_VALIDATION = 20  # fewer training frames: the threshold is picked on them instead
T = TypeVar("T")


class ImportRejected(Refusal):
    code = "invalid_import"


@dataclass(frozen=True)
class FrameSplit(Generic[T]):
    """A camera's labelled frames in three parts, each oldest first."""

    train: list[T]  # learnt from
    validation: list[T]  # pick the score threshold, never learnt from
    held_out: list[T]  # measure the new model against the current one, never seen

    @property
    def ordered(self) -> list[T]:
        """Training, validation, held out: the order of an exported folder's numbers."""
        return [*self.train, *self.validation, *self.held_out]


def split_frames(frames: Sequence[T], light: Callable[[T], bool]) -> FrameSplit[T]:
    """Split frames given oldest first by time, never at random: of each light (daylight
    colour, night infrared: `light`) the newest 20 % are held out, and, from 20 training
    frames on, the tenth before them picks the threshold. By light, because a fixed camera
    shows two pictures a day: a split by time alone can hold out every night of a short
    stretch and teach none (the grower pen's frames 620-899 are all infrared)."""
    groups: dict[bool, list[T]] = {}
    for frame in frames:
        groups.setdefault(bool(light(frame)), []).append(frame)
    order = {id(f): i for i, f in enumerate(frames)}
    train: list[T] = []
    held: list[T] = []
    cut: dict[bool, int] = {}
    for key, group in groups.items():
        n_held = math.ceil(len(group) * HELD_OUT_SHARE) if len(group) >= 2 else 0
        cut[key] = len(group) - n_held
        train += group[: cut[key]]
        held += group[cut[key] :]
    if not held and len(frames) >= 2:  # one frame of each light: hold out the newest
        newest = max(train, key=lambda f: order[id(f)])
        train.remove(newest)
        held.append(newest)
    validation: list[T] = []
    if len(train) >= MIN_FOR_VALIDATION:
        training = {id(f) for f in train}
        for key, group in groups.items():
            ours = [f for f in group[: cut[key]] if id(f) in training]
            n_val = min(math.ceil(len(group) * VALIDATION_SHARE), len(ours) - 1)
            if n_val > 0:
                validation += ours[len(ours) - n_val :]
        checking = {id(f) for f in validation}
        train = [f for f in train if id(f) not in checking]

    def by_time(items: list[T]) -> list[T]:
        return sorted(items, key=lambda f: order[id(f)])

    return FrameSplit(by_time(train), by_time(validation), by_time(held))


Row = tuple[int, float, str | None, Path, Sequence[Sequence[float]]]


class TrainingFrames(Protocol):
    """Where a training's frames come from: a camera's queue, or the sites' (teaching/group.py)."""

    licence: str  # written into the model's metadata: whose frames it learnt from

    def split(self, camera: str) -> FrameSplit[Any]: ...

    def rows(self, split: FrameSplit[Any]) -> FrameSplit[Row]: ...


def yolo_lines(boxes: Sequence[Sequence[float]]) -> str:
    lines = []
    for x1, y1, x2, y2 in boxes:
        lines.append(f"0 {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_folder(root: Path, split: FrameSplit[Row]) -> tuple[int, int | None]:
    """Write the (frame id, ts, source name, image path, boxes) rows of a split as a YOLO
    folder, numbered training, validation, held out; returns (the first held-out number,
    the first validation number or None), which data.yaml names too."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    validate_from = len(split.train) if split.validation else None
    split_at = len(split.train) + len(split.validation)
    parts = ["train"] * len(split.train) + ["validation"] * len(split.validation)
    parts += ["held_out"] * len(split.held_out)
    with open(root / "frames.csv", "w", newline="", encoding="utf-8") as table:
        writer = csv.writer(table)
        writer.writerow(["file", "frame_id", "ts", "source_name", "split"])
        for rank, ((frame_id, ts, source, image, boxes), part) in enumerate(
            zip(split.ordered, parts, strict=True)
        ):
            name = f"{rank:08d}"
            (root / "images" / f"{name}.jpg").write_bytes(image.read_bytes())
            (root / "labels" / f"{name}.txt").write_text(yolo_lines(boxes), encoding="utf-8")
            writer.writerow([f"{name}.jpg", frame_id, f"{ts:.3f}", source or "", part])
    (root / "data.yaml").write_text(
        "# PigWeight labelled frames: training, then validation, then held out, each oldest\n"
        "# first (frames.csv says each one's part and time). Frames numbered held_out_from and\n"
        "# later are held out for measuring (the newest 20 % of each light, day and night);\n"
        "# validate_from .. held_out_from - 1 pick the score threshold, never learnt from:\n"
        "#   pigweight train --base MODEL --data THIS_FOLDER --split-at HELD_OUT_FROM \\\n"
        "#       --validate-from VALIDATE_FROM --augment camera --out farm.onnx\n"
        "path: .\ntrain: images\nval: images\nnc: 1\nnames:\n  0: pig\n"
        f"held_out_from: {split_at}\n"
        + (f"validate_from: {validate_from}\n" if validate_from is not None else ""),
        encoding="utf-8",
    )
    return split_at, validate_from


def zip_folder(root: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def unzip_set(data: bytes, target: Path, max_bytes: int) -> Path:
    """Unpack a zipped labelled set into `target` safely (no path leaves it, no zip bomb);
    returns the folder that holds `images/`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportRejected(
            "not a zip file: send the folder (images/ and labels/) zipped", "not_a_zip"
        ) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        size = sum(m.file_size for m in members)
        if size > max_bytes:
            raise ImportRejected(
                f"the zip unpacks to {size / 1e6:.0f} MB; at most {max_bytes / 1e6:.0f} MB",
                "zip_too_large",
                mb=round(size / 1e6),
                limit_mb=round(max_bytes / 1e6),
            )
        for member in members:
            parts = [p for p in Path(member.filename).parts if p not in ("", ".", "..", "/")]
            if not parts or parts[-1].startswith("."):
                continue
            path = target.joinpath(*parts)
            if not path.resolve().is_relative_to(target.resolve()):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(member))
    found = [p.parent for p in target.rglob("images") if p.is_dir()]
    if not found:
        raise ImportRejected(
            "the zip has no images/ folder: it needs images/ and labels/ (YOLO format), "
            "as the export gives"
        )
    return sorted(found, key=lambda p: len(p.parts))[0]


def temporary_dir(under: Path) -> tempfile.TemporaryDirectory[str]:
    under.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=under)
