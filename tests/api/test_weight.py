"""The weighing API on a real app: validation, live counts, idempotency, history, CSV."""

from __future__ import annotations

import csv
import io
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient

URL = "/api/weight/average"


@pytest.fixture
def client(make_client: MakeClient, database_url: str | None) -> TestClient:
    """The API on DATA_DIR's SQLite file and on a PostgreSQL database (DATABASE_URL)."""
    return make_client(farm_timezone="Europe/Moscow", database_url=database_url)


def post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post(URL, json=body, headers=headers)


def day_csv(tmp_path: Path) -> list[dict[str, str]]:
    files = list((tmp_path / "records").glob("weight_avg_*.csv"))
    assert len(files) == 1, files
    with files[0].open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_manual_weighing_is_recorded_and_written_to_the_daily_csv(
    client: TestClient, tmp_path: Path
) -> None:
    r = post(client, {"camera_id": "demo", "total_weight_kg": 412.5, "count": 30, "note": "pen 4"})
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["avg_weight_kg"] == 13.75 and record["count_source"] == "manual"
    assert record["local_time"].endswith("+03:00") and record["timezone"] == "Europe/Moscow"
    [row] = day_csv(tmp_path)
    assert row["record_id"] == str(record["id"]) and row["avg_weight_kg"] == "13.75"
    assert row["count"] == "30" and row["total_weight_kg"] == "412.5" and row["note"] == "pen 4"
    assert client.get(f"/api/weight/records/{record['id']}").json()["status"] == "active"


BAD_BODIES = [
    ('{"camera_id":"demo","total_weight_kg":NaN,"count":3}', "finite"),
    ('{"camera_id":"demo","total_weight_kg":Infinity,"count":3}', "finite"),
    ('{"camera_id":"demo","total_weight_kg":1e309,"count":3}', "finite"),
    ('{"camera_id":"demo","total_weight_kg":-1,"count":3}', "positive"),
    ('{"camera_id":"demo","total_weight_kg":0,"count":3}', "positive"),
    ('{"camera_id":"demo","total_weight_kg":"heavy","count":3}', "number of kilograms"),
    ('{"camera_id":"demo","total_weight_kg":"41.5","count":3}', "number of kilograms"),
    ('{"camera_id":"demo","count":3}', "total_weight_kg: is required"),
    ('{"total_weight_kg":30,"count":3}', "camera_id: is required"),
    ('{"camera_id":"demo","total_weight_kg":30,"count":0}', "1 to 1000"),
    ('{"camera_id":"demo","total_weight_kg":30,"count":1.5}', "whole number"),
    ('{"camera_id":"demo","total_weight_kg":30,"count":true}', "whole number"),
    ('{"camera_id":"demo","total_weight_kg":30,"count":"3"}', "whole number"),
    ('{"camera_id":"demo","total_weight_kg":30,"count":3,"weight":1}', "weight: is not a field"),
    ('{"camera_id":"demo","total_weight_kg":9000,"count":300}', "MAX_TOTAL_WEIGHT_KG"),
    ('{"camera_id":"demo","total_weight_kg":3000,"count":3}', "plausible"),
    ("not json", "JSON"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_weighings_get_a_4xx_that_says_what_to_fix(
    client: TestClient, tmp_path: Path, body: str, message: str
) -> None:
    post(client, {"camera_id": "demo", "total_weight_kg": 100.0, "count": 10})  # kept
    r = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    assert len(day_csv(tmp_path)) == 1
    assert client.get("/api/weight/records").json()["total"] == 1


def test_unknown_camera_is_404_and_no_count_is_409(client: TestClient) -> None:
    r = post(client, {"camera_id": "pen9", "total_weight_kg": 100.0, "count": 10})
    assert r.status_code == 404 and "cameras: demo" in r.json()["detail"]
    r = post(client, {"camera_id": "demo", "total_weight_kg": 100.0})  # camera not started
    assert r.status_code == 409 and "enter the count" in r.json()["detail"]
    assert r.json()["code"] == "count_unavailable"


def test_a_formula_note_is_stored_and_exported_neutralised(
    client: TestClient, tmp_path: Path
) -> None:
    note = '=HYPERLINK("http://x.example","open")'
    record = post(client, {"camera_id": "demo", "total_weight_kg": 100, "count": 10, "note": note})
    assert record.json()["note"] == note
    assert day_csv(tmp_path)[0]["note"] == "'" + note
    download = client.get("/api/weight/records.csv").text
    [row] = csv.DictReader(io.StringIO(download))
    assert row["note"] == "'" + note


def test_idempotency_key_replays_the_first_record_and_refuses_another_body(
    client: TestClient, tmp_path: Path
) -> None:
    body = {"camera_id": "demo", "total_weight_kg": 100, "count": 7}
    first = post(client, body, **{"Idempotency-Key": "scale-42"})
    again = post(client, body, **{"Idempotency-Key": "scale-42"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    other = post(client, {**body, "count": 8}, **{"Idempotency-Key": "scale-42"})
    assert other.status_code == 409 and "different weighing" in other.json()["detail"]
    assert len(day_csv(tmp_path)) == 1


def test_fifty_parallel_posts_give_fifty_records_and_fifty_whole_lines(
    client: TestClient, tmp_path: Path
) -> None:
    def weigh(i: int) -> int:
        body = {"camera_id": "demo", "total_weight_kg": 200 + i, "count": 20, "note": f"g{i}"}
        r = post(client, body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    with ThreadPoolExecutor(50) as pool:
        ids = list(pool.map(weigh, range(50)))
    rows = day_csv(tmp_path)
    assert len(set(ids)) == 50 and sorted(int(r["record_id"]) for r in rows) == sorted(ids)
    for row in rows:
        i = int(row["note"][1:])
        assert row["total_weight_kg"] == str(200 + i)
        assert row["avg_weight_kg"] == f"{(200 + i) / 20:g}"
    assert client.get("/api/weight/records?limit=1000").json()["total"] == 50


def test_history_filters_pages_summarises_corrects_and_deletes(client: TestClient) -> None:
    ids = [
        post(client, {"camera_id": "demo", "total_weight_kg": t, "count": n}).json()["id"]
        for t, n in ((300, 25), (200, 20), (150, 10))
    ]
    page = client.get("/api/weight/records?limit=2").json()
    assert page["total"] == 3 and [r["id"] for r in page["records"]] == ids[::-1][:2]
    assert client.get("/api/weight/records?limit=2&offset=2").json()["records"][0]["id"] == ids[0]
    assert client.get("/api/weight/records?camera=pen9").json()["total"] == 0
    assert client.get("/api/weight/records?from=2020-01-01&to=2020-01-02").json()["total"] == 0
    today = time.strftime("%Y-%m-%d")  # this machine's date; Moscow's is the same or next
    assert client.get(f"/api/weight/records?from={today}").json()["total"] == 3
    bad = client.get("/api/weight/records?from=yesterday")
    assert bad.status_code == 422 and "not a date" in bad.json()["detail"]
    fixed = client.post(f"/api/weight/records/{ids[0]}/correction", json={"total_weight_kg": 310})
    assert fixed.status_code == 201 and fixed.json()["avg_weight_kg"] == 12.4
    gone = client.request("DELETE", f"/api/weight/records/{ids[2]}", json={"reason": "test run"})
    assert gone.json()["status"] == "deleted"
    again = client.request("DELETE", f"/api/weight/records/{ids[2]}", json={"reason": "x"})
    assert again.status_code == 409
    missing = client.request("DELETE", "/api/weight/records/999", json={"reason": "x"})
    assert missing.status_code == 404
    [day] = client.get("/api/weight/summary").json()
    assert (day["weighings"], day["animals"], day["total_weight_kg"]) == (2, 45, 510.0)
    assert day["mean_avg_weight_kg"] == round(510 / 45, 3)
    assert (day["min_avg_weight_kg"], day["max_avg_weight_kg"]) == (10.0, 12.4)
    history = client.get("/api/weight/records?include_replaced=true").json()
    assert {r["status"] for r in history["records"]} == {"active", "corrected", "deleted"}


def test_without_a_count_the_live_stable_count_and_its_picture_are_recorded(
    make_client: MakeClient, tmp_path: Path
) -> None:
    # The built-in demo camera, as `make run` has it, with a small clip to render quickly.
    client = make_client(
        demo_video_seconds=4, demo_video_width=320, count_window=3, min_avg_weight_kg=0.1
    )
    assert client.post("/api/cameras/demo/start").status_code == 200
    deadline = time.monotonic() + 60
    while True:
        while time.monotonic() < deadline:
            if client.get("/api/cameras/demo/status").json()["stable_count"]:
                break
            time.sleep(0.1)
        r = post(client, {"camera_id": "demo", "total_weight_kg": 250.0})
        # The 4 s clip's group walks off and the next walks on: the platform can be empty
        # again by the time the weighing arrives, which is refused, as it should be.
        if r.status_code != 409 or time.monotonic() > deadline:
            break
        assert r.json()["code"] == "count_unavailable", r.text
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["count_source"] == "auto" and record["count"] >= 1
    assert 0 < record["confidence"] <= 1 and record["segmenter"] == "classic"
    # The count is the camera's stable count at that moment (it may move on right after).
    # The store writes samples a moment later, on its own thread: give it that moment.
    stable_counts: set[int] = set()
    deadline = time.monotonic() + 10
    while record["count"] not in stable_counts and time.monotonic() < deadline:
        series = client.get("/api/count_series?id=demo&window_s=60").json()["points"]
        stable_counts = {p["stable_count"] for p in series}
        time.sleep(0.1)
    assert record["count"] in stable_counts
    exact = Decimal(250) / record["count"]  # half-up to the gram, as a person rounds
    assert record["avg_weight_kg"] == float(exact.quantize(Decimal("0.001"), ROUND_HALF_UP))
    picture = client.get(record["snapshot_url"])
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    [row] = day_csv(tmp_path)
    assert (row["count"], row["count_source"]) == (str(record["count"]), "auto")
    typed_count = post(client, {"camera_id": "demo", "total_weight_kg": 250.0, "count": 20})
    assert typed_count.json()["snapshot_url"]  # the camera's current frame, count typed
    assert client.get("/api/weight/records/999/snapshot.jpg").status_code == 404
