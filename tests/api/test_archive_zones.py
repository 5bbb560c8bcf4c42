"""A recording's platform zone: set, read and removed over the API, and applied at once to
every count of the recording (count at t, samples, series, frames, weighings)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pigweight.pipeline.archive_zone import split_outlines
from pigweight.store.db import DB_FILE_NAME
from pigweight.synthetic import write_demo_video
from pigweight.zones import zone_from_value
from tests.api.conftest import MakeClient

pytestmark = pytest.mark.slow

LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
# A square of 0.2-0.6 whose left edge has many points: their mean lies left of x = 0.35,
# the square's area centroid (0.4) does not.
DENSE_LEFT = [[0.2, 0.2 + k * 0.02] for k in range(21)] + [[0.6, 0.6], [0.6, 0.2]]


@pytest.mark.parametrize(
    ("zone", "inside", "outside"),
    [
        (None, 1, 0),  # no zone: the whole frame counts
        ([[0.0, 0.0], [0.35, 0.0], [0.35, 1.0], [0.0, 1.0]], 0, 1),  # area centroid, not mean
        ([[0.0, 0.0], [0.4, 0.0], [0.4, 1.0], [0.0, 1.0]], 1, 0),  # on the edge counts
        ([[0.7, 0.0], [1.0, 0.0], [1.0, 1.0], [0.7, 1.0]], 0, 1),
    ],
)
def test_an_animal_is_on_the_platform_by_the_area_centroid_of_its_outline(
    zone: Any, inside: int, outside: int
) -> None:
    on, off = split_outlines([DENSE_LEFT], zone_from_value(zone))
    assert (len(on), len(off)) == (inside, outside)
    assert split_outlines([], zone_from_value(zone)) == ([], [])


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


def _samples(client: TestClient, video_id: int) -> list[dict[str, Any]]:
    body = client.get(f"/api/video_file/{video_id}/samples?from=0&to=4").json()
    samples: list[dict[str, Any]] = body["samples"]
    return samples


def _counts_at(client: TestClient, video_id: int, times: list[float]) -> list[tuple[int, int]]:
    answers = [
        client.get(f"/api/video_file/count_at_time?id={video_id}&t={t}").json() for t in times
    ]
    return [(a["count"], a["outside"]) for a in answers]


def _series_peak(client: TestClient, video_id: int) -> list[tuple[int, int]]:
    points = client.get(f"/api/video_file/count_series?id={video_id}&step=1").json()
    return [(p["count"], p["outside"]) for p in points["points"]]


def _put(client: TestClient, video_id: int, zone: Any) -> Any:
    return client.put(f"/api/video_file/{video_id}/zone", json={"zone": zone})


def test_a_zone_is_kept_shown_and_removed(indexed: tuple[TestClient, int]) -> None:
    client, video_id = indexed
    assert client.get(f"/api/video_file/{video_id}").json()["zone"] is None
    r = _put(client, video_id, LEFT_HALF)
    assert r.status_code == 200, r.text
    assert r.json() == {"zone": LEFT_HALF}
    assert client.get(f"/api/video_file/{video_id}").json()["zone"] == LEFT_HALF
    assert client.get("/api/video_file").json()[0]["zone"] == LEFT_HALF
    assert _put(client, video_id, None).json() == {"zone": None}
    assert client.get(f"/api/video_file/{video_id}").json()["zone"] is None


@pytest.mark.parametrize(
    ("zone", "reason"),
    [
        ([[0.1, 0.1], [0.9, 0.1]], "at least 3 points"),
        ([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]], "no area"),
        ([[0.1, 0.1], [1.5, 0.1], [0.9, 0.9]], "point 2 x"),
        ("left half", "[[x, y], ...]"),
    ],
)
def test_a_bad_zone_is_422_saying_what_to_fix(
    indexed: tuple[TestClient, int], zone: Any, reason: str
) -> None:
    client, video_id = indexed
    r = _put(client, video_id, zone)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_zone" and reason in r.json()["detail"]
    assert client.get(f"/api/video_file/{video_id}").json()["zone"] is None


def test_a_zone_of_an_unknown_recording_is_404(indexed: tuple[TestClient, int]) -> None:
    client, _ = indexed
    r = _put(client, 999, LEFT_HALF)
    assert r.status_code == 404 and r.json()["code"] == "video_not_found"


def test_every_count_drops_with_a_zone_and_comes_back_without(
    indexed: tuple[TestClient, int],
) -> None:
    client, video_id = indexed
    whole = _samples(client, video_id)
    times = [s["t"] for s in whole]
    # Asked before the zone is set: the counts kept in memory must not outlive it.
    before = _counts_at(client, video_id, times)
    assert before == [(s["count"], 0) for s in whole]
    series_before = _series_peak(client, video_id)

    _put(client, video_id, LEFT_HALF)
    zoned = _samples(client, video_id)
    for full, part in zip(whole, zoned, strict=True):
        assert part["count"] == len(part["outlines"])
        assert part["outside"] == len(part["outside_outlines"])
        assert part["count"] + part["outside"] == full["count"]
    assert 0 < sum(s["count"] for s in zoned) < sum(s["count"] for s in whole)
    # The count at t (the fast path, from memory) agrees with the samples' outlines.
    assert _counts_at(client, video_id, times) == [(s["count"], s["outside"]) for s in zoned]
    series_zoned = _series_peak(client, video_id)
    assert sum(c for c, _ in series_zoned) < sum(c for c, _ in series_before)

    _put(client, video_id, None)
    assert _samples(client, video_id) == [{**s, "outside_outlines": []} for s in whole] and all(
        s["outside"] == 0 for s in whole
    )
    assert _counts_at(client, video_id, times) == before
    assert _series_peak(client, video_id) == series_before


def test_the_slow_path_counts_with_the_zone_too(indexed: tuple[TestClient, int]) -> None:
    client, video_id = indexed
    _put(client, video_id, LEFT_HALF)
    zoned = _samples(client, video_id)
    indexer = client.app.state.archive.indexer  # type: ignore[attr-defined]
    for s in zoned:
        indexer.samples.drop(video_id)  # not in memory: read from the database
        answer = indexer.count_at(video_id, s["t"])
        assert (answer.count, answer.outside) == (s["count"], s["outside"])


def test_a_weighing_from_a_frame_counts_inside_the_zone(
    indexed: tuple[TestClient, int],
) -> None:
    client, video_id = indexed
    _put(client, video_id, LEFT_HALF)
    both = [s for s in _samples(client, video_id) if s["count"] and s["outside"]]
    sample = both[0]  # animals on both sides of the zone's edge
    body = {"t": sample["t"], "total_weight_kg": 100.0}
    record = client.post(f"/api/video_file/{video_id}/weighing", json=body).json()
    assert record["count"] == sample["count"]
    snapshot = client.get(f"/api/weight/records/{record['id']}/snapshot.jpg")
    assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"
    _put(client, video_id, None)
    whole = client.post(f"/api/video_file/{video_id}/weighing", json=body).json()
    assert whole["count"] == sample["count"] + sample["outside"]
    frame = client.get(f"/api/video_file/{video_id}/frame.jpg?t={sample['t']}&overlay=true")
    assert frame.status_code == 200


def test_a_database_from_before_zones_opens(make_client: MakeClient, tmp_path: Path) -> None:
    clip = write_demo_video(tmp_path / "clip.mp4", seconds=1, width=320, height=180)
    client = make_client()
    headers = {"X-Filename": "old.mp4"}
    video_id = client.post("/api/video_file/upload", content=clip.read_bytes(), headers=headers)
    video_id = video_id.json()["id"]
    client.__exit__(None, None, None)
    with sqlite3.connect(tmp_path / "data" / DB_FILE_NAME) as db:
        # As a version from before zones (and before migrations: nothing stamped) left it:
        # also without what later revisions added (0002: the sites' UUIDs and tables).
        db.execute("ALTER TABLE video_files DROP COLUMN zone")
        db.execute("DROP TABLE alembic_version")
        for table in ("weight_records", "batches"):
            db.execute(f"DROP INDEX ux_{table}_uuid")
            db.execute(f"ALTER TABLE {table} DROP COLUMN uuid")
        later = "name = 'site_outbox' OR name LIKE 'central\\_%' ESCAPE '\\'"
        query = f"SELECT name FROM sqlite_master WHERE type='table' AND ({later})"
        for (table,) in db.execute(query).fetchall():
            db.execute(f"DROP TABLE {table}")
    again = make_client()
    assert again.get(f"/api/video_file/{video_id}").json()["zone"] is None
    assert _put(again, video_id, LEFT_HALF).json() == {"zone": LEFT_HALF}
