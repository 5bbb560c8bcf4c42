"""A disk that fills up: uploads are refused with 507, weighings still land, both come back."""

from __future__ import annotations

import csv
import shutil
import time
from collections import namedtuple
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient
from tests.media.videos import write_clip

WEIGH = "/api/weight/average"
Usage = namedtuple("Usage", "total used free")


class Disk:
    """The free space the upload code measures (shutil.disk_usage), set by the test."""

    def __init__(self) -> None:
        self.free: int | None = None  # None: the real figure

    def usage(self, path: str | Path) -> Usage:
        real = _real_disk_usage(path)
        free = real.free if self.free is None else self.free
        return Usage(real.total, real.total - free, free)


_real_disk_usage = shutil.disk_usage


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    disk = Disk()
    monkeypatch.setattr("pigweight.media.uploads.shutil.disk_usage", disk.usage)
    return disk


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(farm_timezone="Europe/Moscow")


def csv_lines(records: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(records.glob("weight_avg_*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            rows += list(csv.DictReader(f))
    return rows


def upload(client: TestClient, clip: Path, name: str) -> object:
    return client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": name}
    )


def test_a_full_disk_refuses_uploads_keeps_weighings_and_recovers(
    client: TestClient, disk: Disk, tmp_path: Path
) -> None:
    clip = write_clip(tmp_path / "pen.mp4", seconds=2.0)
    before = upload(client, clip, "before.mp4")
    assert before.status_code == 201, before.text
    # An upload in progress when the disk fills, resumed afterwards.
    size = clip.stat().st_size
    started = client.post("/api/video_file/uploads", json={"filename": "resumed.mp4", "size": size})
    assert started.status_code == 201, started.text
    upload_url = f"/api/video_file/uploads/{started.json()['upload_id']}"

    disk.free = 500 * 2**20  # below the 1 GB the uploads leave free for records
    full = upload(client, clip, "full.mp4")
    assert full.status_code == 507, full.text
    detail = full.json()["detail"]
    assert "not enough free disk space" in detail and "500.0 MB free" in detail, detail
    assert "free some space" in detail
    created = client.post("/api/video_file/uploads", json={"filename": "x.mp4", "size": size})
    assert created.status_code == 507
    patched = client.patch(upload_url, content=clip.read_bytes(), headers={"Upload-Offset": "0"})
    assert patched.status_code == 507, patched.text

    # Weighings still land, in the database and in the day's CSV.
    weighed = client.post(WEIGH, json={"camera_id": "demo", "total_weight_kg": 250, "count": 10})
    assert weighed.status_code == 201, weighed.text
    assert weighed.json()["csv_error"] is None
    assert [r["record_id"] for r in csv_lines(tmp_path / "records")] == [str(weighed.json()["id"])]
    assert [v["name"] for v in client.get("/api/video_file").json()] == ["before.mp4"]

    disk.free = None  # space returns
    after = upload(client, clip, "after.mp4")
    assert after.status_code == 201, after.text
    resumed = client.patch(upload_url, content=clip.read_bytes(), headers={"Upload-Offset": "0"})
    assert resumed.status_code in (200, 201) and resumed.json()["done"], resumed.text
    names = sorted(v["name"] for v in client.get("/api/video_file").json())
    assert names == ["after.mp4", "before.mp4", "resumed.mp4"]
    assert list((tmp_path / "data" / "uploads").glob("*.part")) == []


def test_a_weighing_whose_csv_line_hits_a_full_disk_lands_and_its_line_follows(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pigweight.pipeline.live.CSV_RETRY_EVERY_S", 0.2)
    client = make_client(farm_timezone="Europe/Moscow")
    records = tmp_path / "records"
    records.mkdir(exist_ok=True)
    today = datetime.now(client.app.state.settings.weighing.zone()).strftime("%Y%m%d")
    day_file = records / f"weight_avg_{today}.csv"
    # The day's file and the one it is rewritten through (durable.replace_file) lead to
    # /dev/full: every write to them fails with ENOSPC, as on a full disk.
    aside = day_file.with_name(day_file.name + ".tmp")
    for path in (day_file, aside):
        path.symlink_to("/dev/full")

    first = client.post(WEIGH, json={"camera_id": "demo", "total_weight_kg": 250, "count": 10})
    assert first.status_code == 201, first.text
    error = first.json()["csv_error"]
    assert "record is saved" in error and "No space left" in error and "pending" in error
    record_id = first.json()["id"]
    assert client.get(f"/api/weight/records/{record_id}").json()["count"] == 10
    second = client.post(WEIGH, json={"camera_id": "demo", "total_weight_kg": 300, "count": 12})
    assert second.status_code == 201 and "pending" in second.json()["csv_error"]

    time.sleep(0.5)  # retries meanwhile fail too: the lines stay pending
    assert day_file.is_symlink() and aside.is_symlink()
    for path in (day_file, aside):
        path.unlink()  # space returns; no weighing follows: the retry writes the lines
    deadline = time.monotonic() + 10
    while not day_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    ids = [r["record_id"] for r in csv_lines(records)]
    assert ids == [str(record_id), str(second.json()["id"])]
