"""A camera configured by an operator, on a real RTSP server: it counts, drops, comes back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from tests.api.conftest import make_settings
from tests.api.test_cameras import _wait_json
from tests.conftest import need_system
from tests.media.test_rtsp import RtspServers, free_port, gst_rtsp_available

pytestmark = pytest.mark.rtsp

PASSWORD = "p@ss:w/rd%21"


@pytest.fixture
def servers() -> Iterator[RtspServers]:
    need_system(gst_rtsp_available(), "GStreamer RTSP server (gir1.2-gst-rtsp-server-1.0)")
    manager = RtspServers()
    yield manager
    manager.close()


def test_rtsp_camera_counts_drops_and_recovers(
    servers: RtspServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    server = servers.start(port, user="admin", password=PASSWORD)
    monkeypatch.setenv("PIGWEIGHT_TEST_GATE_PASSWORD", PASSWORD)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        "cameras:\n"
        "  - id: gate\n"
        "    name: Весы 1\n"
        f"    url: rtsp://admin@127.0.0.1:{port}/cam\n"
        "    password_env: PIGWEIGHT_TEST_GATE_PASSWORD\n"
        "    target_fps: 5\n"
    )
    settings = make_settings(tmp_path, cameras_file=cameras, auto_start_cam=True)
    status_url = "/api/cameras/gate/status"
    with TestClient(create_app(settings)) as client:
        # The camera streams and is counted; the counts reach the database.
        _wait_json(client, status_url, lambda b: b["state"] == "streaming" and b["frames_out"])
        series = _wait_json(
            client, "/api/count_series?id=gate&window_s=60", lambda b: len(b["points"]) >= 3
        )
        assert series["status"] == "streaming"
        assert all(isinstance(p["count"], int) for p in series["points"])
        snapshot = client.get("/api/cameras/gate/snapshot.jpg")
        assert snapshot.headers["content-type"] == "image/jpeg"

        # The camera goes away: the operator sees it within 15 s.
        server.kill()
        server.wait(5)
        killed = time.monotonic()
        _wait_json(client, status_url, lambda b: b["state"] == "reconnecting", timeout_s=15)
        noticed_s = time.monotonic() - killed

        # It comes back on the same address: frames flow again within 35 s.
        servers.start(port, user="admin", password=PASSWORD)
        back = time.monotonic()
        before = client.get(status_url).json()["frames_out"]
        body = _wait_json(
            client,
            status_url,
            lambda b: b["state"] == "streaming" and b["frames_out"] > before,
            timeout_s=35,
        )
        recovered_s = time.monotonic() - back
        assert body["reconnects"] >= 1
        answers = [client.get(u).text for u in ("/api/cameras", "/debug/infer_status")]
    for text in answers:
        assert PASSWORD not in text and "p%40ss" not in text
    print(
        f"\nreconnecting shown after {noticed_s:.1f} s; streaming again {recovered_s:.1f} s later"
    )
