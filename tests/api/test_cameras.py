from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from pigweight.cameras import CameraConfig
from pigweight.errors import InvalidVideo
from pigweight.media.source import FileSource, FrameSource
from pigweight.synthetic import write_demo_video
from tests.api.conftest import MakeClient, make_settings

PASSWORD = "p@ss:w/rd%21"
LIVE_FIELDS = {"camera", "ts", "count", "stable_count", "confidence", "status", "outlines"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_video(
        tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2, width=320, height=180
    )


def _cameras_file(tmp_path: Path, clip: Path) -> Path:
    path = tmp_path / "cameras.yaml"
    path.write_text(
        "cameras:\n"
        f"  - {{id: pen1, name: Pen 1, url: '{clip}', target_fps: 10}}\n"
        "  - id: gate\n"
        "    url: rtsp://admin@127.0.0.1:9/stream1\n"
        "    password_env: PIGWEIGHT_TEST_CAM_PASSWORD\n"
    )
    return path


def _wait_json(
    client: TestClient, url: str, ok: Callable[[dict[str, Any]], Any], timeout_s: float = 20
) -> dict[str, Any]:
    """Poll a JSON endpoint until `ok(body)` holds."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if ok(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url} never satisfied the condition: {body}")


@pytest.fixture
def live_client(make_client: MakeClient, tmp_path: Path, clip: Path) -> TestClient:
    return make_client(cameras_file=_cameras_file(tmp_path, clip), auto_start_cam=False)


def test_a_file_camera_streams_counts_and_serves_pictures(live_client: TestClient) -> None:
    c = live_client
    cameras = {cam["id"]: cam for cam in c.get("/api/cameras").json()}
    assert set(cameras) == {"pen1", "gate"}
    assert cameras["pen1"]["status"]["state"] == "stopped"
    assert c.post("/api/cameras/pen1/start").status_code == 200
    _wait_json(c, "/api/cameras/pen1/status", lambda b: b["frames_out"] >= 3)
    with c.websocket_connect("/ws/count?id=pen1") as ws:
        messages = [ws.receive_json() for _ in range(3)]
    assert all(set(m) >= LIVE_FIELDS for m in messages)
    assert any(m["count"] is not None and m["status"] == "streaming" for m in messages)
    for polygon in (p for m in messages for p in m["outlines"]):
        assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in polygon)
    for url in ("/api/cameras/pen1/snapshot.jpg", "/api/cameras/pen1/snapshot.jpg?raw=1"):
        r = c.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.content[:2] == b"\xff\xd8"
    series = _wait_json(c, "/api/count_series?id=pen1&window_s=60", lambda b: len(b["points"]) >= 3)
    assert series["camera"] == "pen1" and series["status"] == "streaming"
    assert all(time.time() - 60 <= p["ts"] <= time.time() + 1 for p in series["points"])
    stopped = c.post("/api/cameras/pen1/stop").json()
    assert stopped["state"] == "stopped"
    assert c.get("/api/cameras/pen1/snapshot.jpg").status_code == 503


def test_mjpeg_streams_jpeg_parts(live_client: TestClient) -> None:
    live_client.post("/api/cameras/pen1/start")
    _wait_json(live_client, "/api/cameras/pen1/status", lambda b: b["frames_out"] >= 1)
    with live_client.stream("GET", "/api/cameras/pen1/mjpeg") as r:
        assert r.headers["content-type"].startswith("multipart/x-mixed-replace")
        data = b""
        for chunk in r.iter_bytes():
            data += chunk
            if data.count(b"--frame") >= 2:
                break
    assert b"Content-Type: image/jpeg" in data and b"\xff\xd8" in data
    live_client.post("/api/cameras/pen1/stop")


def test_unknown_cameras_and_bad_windows_are_clear_errors(live_client: TestClient) -> None:
    r = live_client.get("/api/cameras/nope/status")
    assert r.status_code == 404 and "pen1" in r.json()["detail"]
    assert live_client.post("/api/cameras/nope/start").status_code == 404
    assert live_client.get("/api/count_series?id=nope").status_code == 404
    for bad in ("0", "-5", "abc", "1e12"):
        r = live_client.get(f"/api/count_series?id=pen1&window_s={bad}")
        assert r.status_code == 422, bad
        assert "window_s" in r.json()["detail"]


def test_diagnostics_report_every_camera(live_client: TestClient) -> None:
    live_client.post("/api/cameras/pen1/start")
    status = _wait_json(
        live_client, "/debug/infer_status", lambda b: b["cameras"]["pen1"]["frames_out"] >= 2
    )
    pen = status["cameras"]["pen1"]
    for key in (
        "fps_in",
        "fps_out",
        "inference_ms_p50",
        "inference_ms_p95",
        "queue_depth",
        "dropped",
        "reconnects",
        "last_error",
        "uptime_s",
    ):
        assert key in pen
    assert status["ready"] is True
    preload = live_client.get("/debug/preload_model").json()
    assert preload["ready"] is True and preload["segmenters"] == ["classic"]


def test_preload_model_loads_and_times_the_segmenter(make_client: MakeClient) -> None:
    c = make_client(preload_model=False, demo_video_seconds=0)
    assert c.get("/healthz").json()["ready"] is False
    preload = c.get("/debug/preload_model").json()
    assert preload["ready"] is True
    assert preload["timings_ms"]["model_load"] > 0 and "warm_up" in preload["timings_ms"]
    assert c.get("/healthz").json()["ready"] is True


def _leaky_source(config: CameraConfig) -> FrameSource:
    """Files play; RTSP fails the way a library would: quoting the URL it was given."""
    if config.kind != "rtsp":
        return FileSource(Path(config.url), config.id)
    raise InvalidVideo(f"could not open {config.open_url()}: 401 Unauthorized")


def test_no_camera_password_reaches_answers_or_logs(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PIGWEIGHT_TEST_CAM_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)
    settings = make_settings(
        tmp_path,
        cameras_file=_cameras_file(tmp_path, clip),
        cam_url=f"rtsp://legacy:{PASSWORD}@127.0.0.1:9/ch1",
        auto_start_cam=True,
        preload_model=True,
    )
    bodies: list[str] = []
    with TestClient(create_app(settings, source_factory=_leaky_source)) as c:
        _wait_json(c, "/api/cameras/gate/status", lambda b: b["state"] == "error")
        _wait_json(c, "/api/cameras/cam/status", lambda b: b["state"] == "error")
        for url in (
            "/api/cameras",
            "/api/cameras/gate/status",
            "/api/cameras/cam/status",
            "/debug/infer_status",
            "/debug/preload_model",
            "/api/count_series?id=gate",
            "/",
            "/api/config",
        ):
            bodies.append(c.get(url).text)
        bodies.append(c.post("/api/cameras/gate/start").text)
        with c.websocket_connect("/ws/count?id=gate") as ws:
            bodies.append(str(ws.receive_json()))
        # The restart above clears the error until the camera fails again; and perf.log gets
        # its first_inference line once the file camera has counted a frame (slow when busy).
        _wait_json(c, "/api/cameras/gate/status", lambda b: b["state"] == "error")
        _wait_json(c, "/api/cameras/pen1/status", lambda b: b["frames_out"] >= 1, timeout_s=60)
        errors = {cam["id"]: cam["status"]["last_error"] for cam in c.get("/api/cameras").json()}
    assert "401" in errors["gate"] and "admin@127.0.0.1:9" in errors["gate"]
    assert "legacy:***@127.0.0.1:9" in errors["cam"]
    perf = (tmp_path / "logs" / "perf.log").read_text()
    for stage in (
        "settings",
        "database",
        "model_load",
        "warm_up",
        "camera_open",
        "first_inference",
    ):
        assert f"stage={stage} " in perf, perf
    logs = caplog.text + "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log*"))
    forms = {PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD), "p@ss", "w/rd", "p%40ss"}
    for text in [*bodies, logs]:
        for form in forms:
            assert form not in text, f"{form!r} leaked: {text[:300]}"


def test_a_real_rtsp_failure_never_shows_the_password(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Port 9 on loopback refuses the connection: RTSP ingest fails and retries for real.
    monkeypatch.setenv("PIGWEIGHT_TEST_CAM_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)
    settings = make_settings(
        tmp_path, cameras_file=_cameras_file(tmp_path, clip), auto_start_cam=True
    )
    threads_before = set(threading.enumerate())
    with TestClient(create_app(settings)) as c:
        status = _wait_json(
            c,
            "/api/cameras/gate/status",
            lambda b: b["state"] in ("reconnecting", "error") and b["last_error"],
            timeout_s=15,
        )
        bodies = [c.get(u).text for u in ("/api/cameras", "/debug/infer_status")]
    # anyio's idle worker threads end on their own shortly after the loop closes.
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    # Threads of earlier tests may end meanwhile; none of this app's may be left.
    left = set(threading.enumerate()) - threads_before
    assert not left, [t.name for t in left]
    logs = caplog.text + "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log*"))
    for text in [str(status), *bodies, logs]:
        for form in (PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD), "p@ss", "p%40ss"):
            assert form not in text
