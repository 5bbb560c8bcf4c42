"""GET /metrics on a real app: a file camera, a weighing, an archive video, a secret URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from pigweight.synthetic import write_demo_video
from tests.api.conftest import MakeClient

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
SECRET_URL = "rtsp://user:p%40ss@127.0.0.1:9/x"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_video(
        tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2, width=320, height=180
    )


@pytest.fixture
def client(make_client: MakeClient, tmp_path: Path, clip: Path) -> TestClient:
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: pen1, url: '{clip}', target_fps: 10}}\n")
    # CAM_URL is the one place a password may sit in a URL: camera `cam`.
    return make_client(cameras_file=cameras, cam_url=SECRET_URL, index_interval_s=0.5)


def scrape(client: TestClient) -> tuple[str, Samples]:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return r.text, samples


def wait_for(
    client: TestClient, ok: Callable[[Samples], bool], timeout_s: float = 30
) -> tuple[str, Samples]:
    """Scrape until `ok(samples)` holds."""
    deadline = time.monotonic() + timeout_s
    while True:
        text, samples = scrape(client)
        if ok(samples):
            return text, samples
        if time.monotonic() > deadline:
            raise AssertionError(f"/metrics never satisfied the condition:\n{text}")
        time.sleep(0.1)


def camera(name: str, cam: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted({"camera": cam, **labels}.items()))


def test_a_running_camera_shows_its_rates_state_and_the_loop_lag(client: TestClient) -> None:
    assert client.post("/api/cameras/pen1/start").status_code == 200
    _, m = wait_for(
        client,
        lambda m: (
            m.get(camera("pigweight_camera_frames_out_total", "pen1"), 0) >= 3
            and ("pigweight_event_loop_lag_seconds", (("quantile", "0.99"),)) in m
        ),
    )
    assert m[camera("pigweight_camera_frames_in_per_second", "pen1")] > 0
    assert m[camera("pigweight_camera_frames_out_per_second", "pen1")] > 0
    assert m[camera("pigweight_camera_inference_seconds", "pen1", quantile="0.95")] > 0
    assert m[camera("pigweight_camera_state", "pen1", state="streaming")] == 1
    assert m[camera("pigweight_camera_state", "pen1", state="stopped")] == 0
    assert m[camera("pigweight_camera_state", "cam", state="stopped")] == 1
    assert camera("pigweight_camera_reconnects_total", "pen1") in m
    assert camera("pigweight_camera_dropped_frames_total", "pen1") in m
    assert camera("pigweight_hub_queue_depth", "pen1") in m
    assert ("pigweight_count_store_queue_depth", ()) in m
    assert 0 <= m[("pigweight_event_loop_lag_seconds", (("quantile", "0.5"),))] < 5
    with client.websocket_connect("/ws/count?id=pen1") as ws:
        ws.receive_json()
        _, m = scrape(client)
    assert m[camera("pigweight_hub_subscribers", "pen1")] == 1


def test_the_records_counter_counts_each_new_weighing_once(client: TestClient) -> None:
    name = ("pigweight_weighing_records_written_total", ())
    before = scrape(client)[1][name]
    body = {"camera_id": "pen1", "total_weight_kg": 120.0, "count": 10}
    headers = {"Idempotency-Key": "metrics-1"}
    assert client.post("/api/weight/average", json=body, headers=headers).status_code == 201
    assert scrape(client)[1][name] == before + 1
    replay = client.post("/api/weight/average", json=body, headers=headers)
    assert replay.status_code in (200, 201), replay.text
    assert scrape(client)[1][name] == before + 1  # a replay writes nothing


def test_archive_jobs_are_counted_by_state(client: TestClient, clip: Path) -> None:
    _, m = scrape(client)
    assert m[("pigweight_archive_jobs", (("state", "done"),))] == 0
    r = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "a.mp4"}
    )
    assert r.status_code == 201, r.text
    wait_for(client, lambda m: m[("pigweight_archive_jobs", (("state", "done"),))] == 1)


def test_no_camera_url_or_password_reaches_the_metrics(client: TestClient, clip: Path) -> None:
    for cam in ("pen1", "cam"):
        assert client.post(f"/api/cameras/{cam}/start").status_code == 200
    text, _ = wait_for(
        client,
        lambda m: (
            m.get(camera("pigweight_camera_frames_out_total", "pen1"), 0) >= 1
            and m[camera("pigweight_camera_state", "cam", state="connecting")] == 0
            and m[camera("pigweight_camera_state", "cam", state="starting")] == 0
        ),
    )
    assert 'camera="cam"' in text
    for form in (SECRET_URL, unquote(SECRET_URL), "p%40ss", "p@ss", "user:", "127.0.0.1", "rtsp"):
        assert form not in text, form
    assert str(clip) not in text and clip.name not in text
