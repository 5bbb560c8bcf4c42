"""The archive endpoints a player uses beside HLS: samples with outlines, and a weighing
recorded from a frame."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pigweight.synthetic import write_demo_video
from tests.api.conftest import MakeClient

pytestmark = pytest.mark.slow


@pytest.fixture
def indexed(make_client: MakeClient, tmp_path: Path) -> tuple[TestClient, int]:
    """An app with a 4 s clip uploaded and indexed (one sample a second)."""
    clip = write_demo_video(tmp_path / "clip.mp4", seconds=4, width=640, height=360)
    client = make_client(index_interval_s=1.0)
    headers = {"X-Filename": "pen 2.mp4"}
    video = client.post("/api/video_file/upload", content=clip.read_bytes(), headers=headers)
    video_id = int(video.json()["id"])
    deadline = time.monotonic() + 60
    while client.get(f"/api/video_file/{video_id}").json()["index"]["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return client, video_id


def test_samples_come_with_outlines_in_frame_units_and_bad_ranges_are_422(
    indexed: tuple[TestClient, int],
) -> None:
    client, video_id = indexed
    body = client.get(f"/api/video_file/{video_id}/samples?from=0&to=4").json()
    assert body["interval_s"] == 1.0
    samples = body["samples"]
    assert [s["t"] for s in samples] == sorted(s["t"] for s in samples) and len(samples) >= 4
    first = samples[0]
    assert first["count"] == len(first["outlines"]) > 0
    points = [p for polygon in first["outlines"] for p in polygon]
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in points)
    at = client.get(f"/api/video_file/count_at_time?id={video_id}&t={samples[1]['t']}").json()
    assert at["count"] == samples[1]["count"]
    assert client.get(f"/api/video_file/{video_id}/samples?from=2&to=1").status_code == 422
    assert client.get(f"/api/video_file/{video_id}/samples?from=0&to=601").status_code == 422
    assert client.get(f"/api/video_file/{video_id}/samples?from=-1").status_code == 422
    assert client.get("/api/video_file/999/samples").status_code == 404


def test_a_weighing_from_a_frame_keeps_its_count_and_snapshot(
    indexed: tuple[TestClient, int],
) -> None:
    client, video_id = indexed
    count = client.get(f"/api/video_file/count_at_time?id={video_id}&t=1.0").json()["count"]
    key = {"Idempotency-Key": "frame-1"}
    body = {"t": 1.0, "total_weight_kg": count * 12.0}
    r = client.post(f"/api/video_file/{video_id}/weighing", json=body, headers=key)
    assert r.status_code == 201, r.text
    record = r.json()
    assert (record["camera"], record["count"], record["count_source"]) == (
        "pen 2.mp4",
        count,
        "auto",
    )
    assert record["note"] == "pen 2.mp4 · 0:00:01.00"  # no English words in a note
    snapshot = client.get(f"/api/weight/records/{record['id']}/snapshot.jpg")
    assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"
    again = client.post(f"/api/video_file/{video_id}/weighing", json=body, headers=key)
    assert again.status_code == 200 and again.json()["id"] == record["id"]
    typed = {"t": 1.0, "total_weight_kg": 30.0, "count": 3, "note": "gate open"}
    manual = client.post(f"/api/video_file/{video_id}/weighing", json=typed).json()
    assert (manual["count"], manual["count_source"]) == (3, "manual")
    assert manual["note"] == "pen 2.mp4 · 0:00:01.00; gate open"
    past_end = client.post(f"/api/video_file/{video_id}/weighing", json={**typed, "t": 99})
    assert past_end.status_code == 422


def test_an_exact_count_is_of_the_frame_shown_not_the_samples_before_it(
    indexed: tuple[TestClient, int],
) -> None:
    client, video_id = indexed
    between = 2.48  # the index counted 2.0 s and will count 3.0 s; 2.48 s is frame 62
    near = client.get(f"/api/video_file/count_at_time?id={video_id}&t={between}").json()
    assert near["sample_t"] == 2.0  # playing: the index's sample stands for the frames after it
    exact = client.get(f"/api/video_file/count_at_time?id={video_id}&t={between}&exact=true")
    assert exact.status_code == 200, exact.text
    assert exact.json()["sample_t"] == pytest.approx(between, abs=0.001)
    assert exact.json()["indexed"] is False  # counted for this question
    # Kept: the next exact question for that frame is answered from it.
    again = client.get(f"/api/video_file/count_at_time?id={video_id}&t={between}&exact=true")
    assert again.json() == exact.json()
