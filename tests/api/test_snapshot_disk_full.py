"""A weighing whose snapshot hits a full disk is saved without it, and says so.

The snapshots folder is a real 64 KiB tmpfs filled to the last byte: the kernel answers
ENOSPC to the picture's write, as on a farm PC whose disk is full.
"""

from __future__ import annotations

import csv
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient
from tests.conftest import need_system
from tests.media.videos import write_clip

ZONE = "Europe/Moscow"


def fill(folder: Path) -> Path:
    """Write a file into folder until the filesystem has no byte left."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


@contextmanager
def full_disk(folder: Path) -> Iterator[Path]:
    """folder (DATA_DIR/snapshots) on a full 64 KiB tmpfs, its day folders already made,
    while the block runs; what was in it is back afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and shutil.which("mount") is not None
    if mounted:
        mount = ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(folder)]
        mounted = subprocess.run(mount, capture_output=True).returncode == 0
    need_system(mounted, "a full disk is a small tmpfs here, and mounting one needs root")
    try:
        # Today's and tomorrow's folders (a test running over midnight) exist already: the
        # picture's own write is what meets the full disk.
        today = datetime.now(ZoneInfo(ZONE))
        for day in (today, today + timedelta(days=1)):
            (folder / day.strftime("%Y%m%d")).mkdir()
        fill(folder)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture
def snapshots(tmp_path: Path) -> Iterator[Path]:
    with full_disk(tmp_path / "data" / "snapshots") as folder:
        yield folder


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(farm_timezone=ZONE)


def frame_weighing(client: TestClient, tmp_path: Path, total_kg: float) -> dict[str, object]:
    """A weighing from a frame of an uploaded recording: its snapshot is that frame."""
    clip = tmp_path / "pen.mp4"
    if not clip.exists():
        write_clip(clip, seconds=2.0)
    video = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "pen.mp4"}
    )
    assert video.status_code == 201, video.text
    # The clip says nothing of when it was made: the operator gives the moment.
    body = {"t": 0.5, "total_weight_kg": total_kg, "count": 3, "at": "2026-12-01T08:00:00"}
    r = client.post(f"/api/video_file/{video.json()['id']}/weighing", json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, object] = r.json()
    return answer


def csv_ids(tmp_path: Path) -> list[str]:
    ids = []
    for path in sorted((tmp_path / "records").glob("weight_avg_*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            ids += [row["record_id"] for row in csv.DictReader(f)]
    return ids


def pictures(folder: Path) -> list[tuple[str, int]]:
    """Every file under snapshots but the filler: (name, size)."""
    return [
        (p.name, p.stat().st_size) for p in folder.rglob("*") if p.is_file() and p.name != "filler"
    ]


def test_a_weighing_whose_snapshot_meets_a_full_disk_is_saved_without_it(
    client: TestClient, snapshots: Path, tmp_path: Path
) -> None:
    record = frame_weighing(client, tmp_path, 30.0)
    assert record["snapshot_url"] is None
    error = str(record["snapshot_error"])
    assert "saved without its snapshot" in error and "No space left" in error, error
    assert record["csv_error"] is None
    # The record is in the database and in the day's CSV file.
    stored = client.get(f"/api/weight/records/{record['id']}")
    assert stored.status_code == 200 and stored.json()["total_weight_kg"] == 30.0
    assert csv_ids(tmp_path) == [str(record["id"])]
    assert client.get(f"/api/weight/records/{record['id']}/snapshot.jpg").status_code == 404
    # No picture was left behind, empty or cut short.
    assert pictures(snapshots) == []

    (snapshots / "filler").unlink()  # space returns: the next weighing keeps its picture
    after = frame_weighing(client, tmp_path, 36.0)
    assert after["snapshot_error"] is None and after["snapshot_url"], after
    picture = client.get(str(after["snapshot_url"]))
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    [(name, size)] = pictures(snapshots)
    assert name.endswith(".jpg") and size == len(picture.content)


def test_a_weighing_that_keeps_its_snapshot_says_no_error(
    client: TestClient, tmp_path: Path
) -> None:
    record = frame_weighing(client, tmp_path, 30.0)
    assert record["snapshot_error"] is None and record["snapshot_url"]
