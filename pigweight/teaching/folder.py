"""Labelled frames in and out as a YOLO-format folder, and the split by time.

Out: `images/00000000.jpg …` in the order the frames were seen, `labels/00000000.txt` (one
`0 cx cy w h` line per animal, normalised), `data.yaml` (one class, `pig`, and
`held_out_from`: the first frame number held out) and `frames.csv` (each file's frame id,
time and origin). `pigweight train --base MODEL --data FOLDER --split-at <held_out_from>`
fine-tunes on it anywhere (a GPU machine), with the same split as the page.

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
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from pigweight.errors import PigWeightError

HELD_OUT_SHARE = 0.2
VALIDATION_SHARE = 0.1  # of all frames, taken from the newest of the training part
MIN_FOR_VALIDATION = 20  # fewer training frames: the threshold is picked on them instead
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
T = TypeVar("T")


class ImportRejected(PigWeightError):
    code = "invalid_import"
    http_status = 422


def time_split(frames: Sequence[T]) -> tuple[list[T], list[T]]:
    """(training, held out) of frames given oldest first: the newest 20 % are held out
    (at least one once there are two), never a random pick: neighbouring frames look alike,
    and a model is meant to count the frames that come after the ones it learnt from."""
    n = len(frames)
    held = 0 if n < 2 else max(1, math.ceil(n * HELD_OUT_SHARE))
    return list(frames[: n - held]), list(frames[n - held :])


def validation_start(n_frames: int, split_at: int) -> int | None:
    """The first frame number of the validation stretch (the training part's newest tenth
    of all frames, never trained on, picks the score threshold); None when too few."""
    if split_at < MIN_FOR_VALIDATION:
        return None
    return split_at - max(1, math.ceil(n_frames * VALIDATION_SHARE))


def yolo_lines(boxes: Sequence[Sequence[float]]) -> str:
    lines = []
    for x1, y1, x2, y2 in boxes:
        lines.append(f"0 {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_folder(
    root: Path,
    frames: Sequence[tuple[int, float, str | None, Path, Sequence[Sequence[float]]]],
) -> int:
    """Write (frame id, ts, source name, image path, boxes) oldest first as a YOLO folder;
    returns the first held-out frame number (data.yaml also names the first validation
    frame, `validate_from`, when there are enough frames for one)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    train, _held = time_split(frames)
    validate_from = validation_start(len(frames), len(train))
    with open(root / "frames.csv", "w", newline="", encoding="utf-8") as table:
        writer = csv.writer(table)
        writer.writerow(["file", "frame_id", "ts", "source_name", "split"])
        for rank, (frame_id, ts, source, image, boxes) in enumerate(frames):
            name = f"{rank:08d}"
            target = root / "images" / f"{name}.jpg"
            target.write_bytes(image.read_bytes())
            (root / "labels" / f"{name}.txt").write_text(yolo_lines(boxes), encoding="utf-8")
            split = "train" if rank < len(train) else "held_out"
            if split == "train" and validate_from is not None and rank >= validate_from:
                split = "validation"
            writer.writerow([f"{name}.jpg", frame_id, f"{ts:.3f}", source or "", split])
    (root / "data.yaml").write_text(
        "# PigWeight labelled frames, oldest first. Frames numbered held_out_from and later\n"
        "# are held out for measuring (the newest 20 %); validate_from .. held_out_from - 1\n"
        "# pick the score threshold and are not trained on (frames.csv says each one's part):\n"
        "#   pigweight train --base MODEL --data THIS_FOLDER --split-at HELD_OUT_FROM \\\n"
        "#       --validate-from VALIDATE_FROM --augment camera --out farm.onnx\n"
        "path: .\ntrain: images\nval: images\nnc: 1\nnames:\n  0: pig\n"
        f"held_out_from: {len(train)}\n"
        + (f"validate_from: {validate_from}\n" if validate_from is not None else ""),
        encoding="utf-8",
    )
    return len(train)


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
            "not a zip file: send the folder (images/ and labels/) zipped"
        ) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        size = sum(m.file_size for m in members)
        if size > max_bytes:
            raise ImportRejected(
                f"the zip unpacks to {size / 1e6:.0f} MB; at most {max_bytes / 1e6:.0f} MB"
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
