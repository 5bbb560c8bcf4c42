"""The group set's pieces on their own: what a site's message must hold to be learnt from,
the split made per site camera, and the held-out figures per site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pigweight.teaching.group import (
    GROUP_DIR,
    GroupFrames,
    _checked_label,
    figures_by_site,
)

JPEG = b"\xff\xd8\xff\xe0 a picture"
GOOD = {"frame_id": 4, "camera": "cam1", "ts": 5.0, "version": 2, "boxes": [[0.1, 0.1, 0.2, 0.3]]}


@pytest.mark.parametrize(
    ("change", "data"),
    [
        ({"boxes": []}, JPEG),  # a frame with no animals is a label too
        ({"infrared": True, "labelled_by": "anna"}, JPEG),
    ],
)
def test_a_labelled_frame_is_taken(change: dict[str, Any], data: bytes) -> None:
    label = _checked_label("barn1", GOOD | change, data)
    assert label is not None and label["site"] == "barn1" and label["frame_id"] == 4


@pytest.mark.parametrize(
    ("change", "data"),
    [
        ({}, b"<html>not a jpeg"),
        ({}, b""),
        ({"boxes": [[0.1, 0.1, 1.2, 0.3]]}, JPEG),
        ({"boxes": [[0.1, 0.1, 0.2]]}, JPEG),
        ({"boxes": "none"}, JPEG),
        ({"camera": "../etc"}, JPEG),
        ({"camera": ""}, JPEG),
        ({"frame_id": -1}, JPEG),
        ({"frame_id": "seven"}, JPEG),
        ({"ts": float("nan")}, JPEG),
        ({"version": None}, JPEG),
    ],
)
def test_anything_else_is_skipped(change: dict[str, Any], data: bytes) -> None:
    assert _checked_label("barn1", GOOD | change, data) is None
    assert _checked_label("barn1", {}, JPEG) is None


def _copied(root: Path, site: str, camera: str, n: int, first_id: int = 1) -> None:
    folder = root / GROUP_DIR / site
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        label = {"site": site, "camera": camera, "frame_id": first_id + i, "ts": float(i)}
        label |= {"version": 1, "infrared": False, "boxes": [[0.1, 0.1, 0.2, 0.2]]}
        (folder / f"{first_id + i}.jpg").write_bytes(JPEG)
        (folder / f"{first_id + i}.json").write_text(json.dumps(label))


def test_every_site_camera_keeps_its_newest_frames_out(tmp_path: Path) -> None:
    _copied(tmp_path, "barn1", "cam1", 5)
    _copied(tmp_path, "barn2", "cam1", 1)
    _copied(tmp_path, "barn2", "cam2", 2, first_id=10)
    (tmp_path / GROUP_DIR / "barn2" / "11.jpg").unlink()  # its picture gone: not in the set
    _copied(tmp_path, "barn3", "cam1", 3)  # not chosen
    frames = GroupFrames(tmp_path, ["barn1", "barn2"])
    split = frames.split()
    held = {f.source_name for f in split.held_out}
    assert held == {"barn1/cam1/5"}
    assert len(split.train) == 6 and split.validation == []  # 4 + 1 + 1
    assert frames.counts() == {"barn1": 5, "barn2": 3}
    _copied(tmp_path, "barn2", "cam2", 2, first_id=10)
    assert {f.source_name for f in frames.split().held_out} == {"barn1/cam1/5", "barn2/cam2/11"}
    rows = frames.rows(frames.split())
    assert [r[2] for r in rows.held_out] == ["barn1/cam1/5", "barn2/cam2/11"]


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([], {}),
        (
            [
                {"source": "barn1/cam1/3", "truth": 4, "candidate": 4, "current": 2},
                {"source": "barn1/cam2/9", "truth": 4, "candidate": 3, "current": 4},
                {"source": "barn2/cam1/3", "truth": 1, "candidate": 1, "current": 1},
                {"source": None, "truth": 1, "candidate": 1, "current": 1},  # a site's own
            ],
            {
                "barn1": {"frames": 2, "mae": 0.5, "against_mae": 1.0},
                "barn2": {"frames": 1, "mae": 0.0, "against_mae": 0.0},
            },
        ),
    ],
)
def test_held_out_figures_per_site(
    frames: list[dict[str, Any]], expected: dict[str, dict[str, Any]]
) -> None:
    assert figures_by_site({"frames": frames}) == expected
