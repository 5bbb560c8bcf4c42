"""A weighing from a frame of a recording is dated when the group was on the scale: the
recording's start (its NVR file name, or the file's creation time) plus the frame's time, or
what the operator enters where the recording does not say. Never the moment of Save."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from pigweight.synthetic import write_demo_video
from tests.api.conftest import MakeClient

ZONE = "Europe/Moscow"


def upload(client: TestClient, tmp_path: Path, name: str, creation_time: bool) -> int:
    clip = write_demo_video(
        tmp_path / f"{len(list(tmp_path.iterdir()))}.mp4",
        seconds=3,
        width=320,
        height=180,
        creation_time=creation_time,
    )
    answer = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": name}
    )
    assert answer.status_code == 201, answer.text
    video_id = int(answer.json()["id"])
    deadline = time.monotonic() + 60
    while client.get(f"/api/video_file/{video_id}").json()["index"]["state"] != "done":
        assert time.monotonic() < deadline, "not indexed in 60 s"
        time.sleep(0.1)
    return video_id


def weigh(client: TestClient, video_id: int, **extra: Any) -> Any:
    body = {"t": 1.0, "total_weight_kg": 228, "count": 19} | extra
    return client.post(f"/api/video_file/{video_id}/weighing", json=body)


def day_file(tmp_path: Path, day: str) -> list[dict[str, str]]:
    with (tmp_path / "records" / f"weight_avg_{day}.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_an_nvr_recordings_weighing_is_dated_by_its_file_name(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(farm_timezone=ZONE)
    video_id = upload(client, tmp_path, "ch01_20240514073004.mp4", creation_time=False)
    start = client.get(f"/api/video_file/{video_id}").json()["recorded_at"]
    assert (start["local_time"], start["source"]) == ("2024-05-14T07:30:04+03:00", "file name")
    saved = weigh(client, video_id)
    assert saved.status_code == 201, saved.text
    assert saved.json()["local_time"] == "2024-05-14T07:30:05+03:00"  # start + 1.0 s
    # It is in that day's file, not today's.
    assert [r["record_id"] for r in day_file(tmp_path, "20240514")] == [str(saved.json()["id"])]


def test_a_cameras_recording_is_dated_by_its_creation_time(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(farm_timezone=ZONE)
    video_id = upload(client, tmp_path, "pen 2.mp4", creation_time=True)
    assert client.get(f"/api/video_file/{video_id}").json()["recorded_at"]["source"] == "container"
    saved = weigh(client, video_id)
    assert saved.json()["local_time"] == "2024-05-14T10:30:01+03:00"  # 07:30 UTC + 1 s


def test_an_undated_recording_asks_for_the_time_and_takes_the_operators(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(farm_timezone=ZONE)
    video_id = upload(client, tmp_path, "pen 2.mp4", creation_time=False)
    assert client.get(f"/api/video_file/{video_id}").json()["recorded_at"] is None
    refused = weigh(client, video_id)
    assert refused.status_code == 422
    assert "send at" in refused.json()["detail"]
    for bad in ("вчера", "2999-01-01T00:00:00", "1999-12-31T23:00:00"):
        answer = weigh(client, video_id, at=bad)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["detail"].startswith("at: ")
    assert client.get("/api/weight/records").json()["total"] == 0
    saved = weigh(client, video_id, at="2026-12-05T09:41:00")
    assert saved.status_code == 201, saved.text
    assert saved.json()["local_time"] == "2026-12-05T09:41:00+03:00"
    # An offset given is kept: 06:41 UTC is 09:41 in Moscow.
    again = weigh(client, video_id, at="2026-12-05T06:42:00+00:00", total_weight_kg=230)
    assert again.json()["local_time"] == "2026-12-05T09:42:00+03:00"
    assert [r["total_weight_kg"] for r in day_file(tmp_path, "20261205")] == ["228", "230"]
