"""A group model at the central: the sites' labelled frames as one training set.

The sites send their labelled frames to the hub (teaching/labels_to_central.py, one message
a frame, newest version). `copy_labels` copies them out into DATA_DIR/group_labels/<site>/
(`<frame>.jpg` and `<frame>.json`, the JSON written last: a frame is there once it is); a
copy is idempotent: a frame whose version is already here is not read again. `GroupFrames`
hands them to the same trainer the sites use (teaching/jobs.py) as the model book's
"camera" `group`: the split is made for each site's camera by time and light, as a site
splits its own (teaching/folder.py), so every camera's newest fifth is held out and the
figures are on frames the model never saw, from every site.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from nats.js import JetStreamContext

from pigweight.durable import replace_file
from pigweight.sites import models
from pigweight.teaching.boxes import Box
from pigweight.teaching.folder import FrameSplit, Row, split_frames

logger = logging.getLogger(__name__)

GROUP = "group"  # the model book's camera for group models
GROUP_DIR = "group_labels"
_CAMERA = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class GroupFrame:
    id: int  # its number in this set (a site's own frame ids overlap another's)
    site: str
    camera: str
    frame_id: int  # at its site
    ts: float
    version: int
    infrared: bool
    boxes: tuple[Box, ...]
    path: Path

    @property
    def source_name(self) -> str:
        return f"{self.site}/{self.camera}/{self.frame_id}"


async def copy_labels(js: JetStreamContext, sites: list[str], data_dir: Path) -> dict[str, Any]:
    """Copy the sites' labelled frames from the hub into DATA_DIR/group_labels; returns, per
    site, how many were copied, already here, and skipped (not a labelled JPEG)."""
    root = Path(data_dir) / GROUP_DIR
    report: dict[str, Any] = {}
    for site in sites:
        copied = kept = skipped = 0
        async for meta, data in models.label_messages(js, site):
            label = _checked_label(site, meta, data)
            if label is None:
                skipped += 1
                continue
            folder = root / site
            stem = str(label["frame_id"])
            if _version_here(folder / f"{stem}.json") == label["version"]:
                kept += 1
                continue
            await anyio.to_thread.run_sync(_write, folder, stem, label, data)
            copied += 1
        report[site] = {"copied": copied, "kept": kept, "skipped": skipped}
        logger.info("group: %s: %d frames copied, %d kept, %d skipped", site, copied, kept, skipped)
    return report


def _checked_label(site: str, meta: dict[str, Any], data: bytes) -> dict[str, Any] | None:
    """The fields a training needs, or None for a message that is not a labelled frame."""
    try:
        boxes = [[float(v) for v in box] for box in meta["boxes"]]
        frame_id, camera, ts = int(meta["frame_id"]), str(meta["camera"]), float(meta["ts"])
        label = {
            "site": site,
            "frame_id": frame_id,
            "camera": camera,
            "ts": ts,
            "version": int(meta["version"]),
            "infrared": bool(meta.get("infrared")),
            "boxes": boxes,
            "labelled_by": str(meta.get("labelled_by") or ""),
        }
    except (KeyError, TypeError, ValueError):
        return None
    if not data.startswith(b"\xff\xd8") or not _CAMERA.fullmatch(camera):
        return None
    if frame_id < 0 or not math.isfinite(ts):
        return None
    if any(len(b) != 4 or not all(0.0 <= v <= 1.0 for v in b) for b in boxes):
        return None
    return label


def _version_here(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(folder: Path, stem: str, label: dict[str, Any], data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    replace_file(folder / f"{stem}.jpg", data)
    replace_file(folder / f"{stem}.json", json.dumps(label).encode())


class GroupFrames:
    """The copied frames of `sites`, as the trainer reads a camera's (split, rows)."""

    licence = "the group's sites' own frames: for these farms only"

    def __init__(self, data_dir: Path, sites: list[str]) -> None:
        self.root = Path(data_dir) / GROUP_DIR
        self.sites = sites

    def frames(self) -> list[GroupFrame]:
        """Every copied frame of the sites, by site, camera and time."""
        labels = []
        for site in self.sites:
            for path in sorted((self.root / site).glob("*.json")):
                try:
                    label = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if path.with_suffix(".jpg").is_file():
                    labels.append((label, path.with_suffix(".jpg")))
        labels.sort(key=lambda x: (x[0]["site"], x[0]["camera"], x[0]["ts"], x[0]["frame_id"]))
        return [
            GroupFrame(
                index,
                label["site"],
                label["camera"],
                label["frame_id"],
                label["ts"],
                label["version"],
                label["infrared"],
                tuple((b[0], b[1], b[2], b[3]) for b in label["boxes"]),
                jpeg,
            )
            for index, (label, jpeg) in enumerate(labels)
        ]

    def counts(self) -> dict[str, int]:
        """Copied frames per site."""
        return {site: len(list((self.root / site).glob("*.json"))) for site in self.sites}

    def split(self, camera: str = GROUP) -> FrameSplit[GroupFrame]:
        """Each site's camera split by time and light on its own, the parts put together."""
        cameras: dict[tuple[str, str], list[GroupFrame]] = {}
        for frame in self.frames():
            cameras.setdefault((frame.site, frame.camera), []).append(frame)
        train: list[GroupFrame] = []
        validation: list[GroupFrame] = []
        held: list[GroupFrame] = []
        for group in cameras.values():
            part = split_frames(group, lambda f: f.infrared)
            train += part.train
            validation += part.validation
            held += part.held_out
        return FrameSplit(train, validation, held)

    def rows(self, split: FrameSplit[GroupFrame]) -> FrameSplit[Row]:
        def row(f: GroupFrame) -> Row:
            return (f.id, f.ts, f.source_name, f.path, f.boxes)

        return FrameSplit(
            [row(f) for f in split.train],
            [row(f) for f in split.validation],
            [row(f) for f in split.held_out],
        )


def figures_by_site(comparison: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A group model's held-out figures per site, from its comparison's frames: how many,
    and the count error of the model and of the one it was compared with."""
    errors: dict[str, list[tuple[int, int]]] = {}
    for entry in comparison.get("frames", []):
        site = str(entry.get("source") or "").split("/")[0]
        if site:
            truth = int(entry["truth"])
            pair = (abs(int(entry["candidate"]) - truth), abs(int(entry["current"]) - truth))
            errors.setdefault(site, []).append(pair)
    return {
        site: {
            "frames": len(pairs),
            "mae": round(sum(p[0] for p in pairs) / len(pairs), 3),
            "against_mae": round(sum(p[1] for p in pairs) / len(pairs), 3),
        }
        for site, pairs in sorted(errors.items())
    }
