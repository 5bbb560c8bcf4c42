"""A camera's platform scale through the API: its reading, its line, and bad settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from pigweight.cameras import CameraConfigError
from pigweight.synthetic import write_demo_video
from pigweight.weighing.scale_sim import ScaleSimulator, WeighingCycle
from tests.api.conftest import MakeClient, make_settings

STANDING = WeighingCycle(empty_s=0.3, loading_s=0.3, stable_s=600, unloading_s=0.3, total_kg=245.5)


@pytest.fixture
def simulator() -> Iterator[tuple[ScaleSimulator, int]]:
    sim = ScaleSimulator("ascii", STANDING, rate_hz=20)
    port = sim.serve_tcp()
    yield sim, port
    sim.stop()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_demo_video(tmp_path / "clip.mp4", seconds=2, width=320, height=180)


def _wait(client: TestClient, url: str, check: Any, timeout_s: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if check(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url}: {body}")


def test_the_first_cameras_scale_reads_the_indicator(
    make_client: MakeClient, simulator: tuple[ScaleSimulator, int], clip: Path, tmp_path: Path
) -> None:
    _, port = simulator
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        f"cameras:\n  - {{id: scale1, url: '{clip}'}}\n  - {{id: gate, url: '{clip}'}}\n"
    )
    client = make_client(cameras_file=cameras, scale_url=f"tcp://127.0.0.1:{port}?protocol=ascii")
    listed = {c["id"]: c["has_scale"] for c in client.get("/api/cameras").json()}
    assert listed == {"scale1": True, "gate": False}
    body = _wait(
        client,
        "/api/scales/scale1",
        lambda b: b["reading"] is not None and b["reading"]["stable"],
    )
    assert body["state"] == "streaming" and body["protocol"] == "ascii"
    assert body["where"] == f"127.0.0.1:{port}"
    assert abs(body["reading"]["weight_kg"] - 245.5) <= 0.2
    assert body["reading"]["age_s"] < 2
    none = client.get("/api/scales/gate")
    assert none.status_code == 404 and "SCALE_URL" in none.json()["detail"]
    assert client.get("/api/scales/nope").status_code == 404


def test_a_scale_that_goes_away_says_so_and_comes_back(
    make_client: MakeClient, clip: Path, tmp_path: Path
) -> None:
    sim = ScaleSimulator("toledo", STANDING, rate_hz=20)
    port = sim.serve_tcp()
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        f"cameras:\n  - {{id: scale1, url: '{clip}', scale: 'tcp://127.0.0.1:{port}?protocol=toledo'}}\n"
    )
    client = make_client(cameras_file=cameras)
    _wait(client, "/api/scales/scale1", lambda b: b["state"] == "streaming")
    sim.stop()  # the converter loses power
    lost = _wait(client, "/api/scales/scale1", lambda b: b["state"] == "reconnecting")
    assert lost["last_error"]
    again = ScaleSimulator("toledo", STANDING, rate_hz=20)
    again.serve_tcp(port=port)
    try:
        back = _wait(
            client,
            "/api/scales/scale1",
            lambda b: b["state"] == "streaming" and b["reading"]["age_s"] < 1,
            timeout_s=20,
        )
        assert abs(back["reading"]["weight_kg"] - 245.5) <= 0.2
    finally:
        again.stop()


def test_a_bad_scale_url_stops_the_start_with_the_reason(tmp_path: Path, clip: Path) -> None:
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        f"cameras:\n  - {{id: scale1, url: '{clip}', scale: 'tcp://10.0.0.5:4001?protocol=nope'}}\n"
    )
    with pytest.raises(CameraConfigError, match=r"scale1.*protocol"):
        create_app(make_settings(tmp_path, cameras_file=cameras))
    with pytest.raises(CameraConfigError, match="SCALE_URL"):
        create_app(make_settings(tmp_path, scale_url="udp://10.0.0.5:4001"))


def test_the_demo_platform_has_a_simulated_scale_in_step_with_its_video(
    make_client: MakeClient,
) -> None:
    client = make_client(auto_start_cam=True, demo_video_seconds=6, demo_video_width=320)
    assert [(c["id"], c["has_scale"]) for c in client.get("/api/cameras").json()] == [
        ("demo", True)
    ]
    # Once the clip plays, the scale weighs its animals: 12 kg a head, steady while they stand.
    body = _wait(
        client,
        "/api/scales/demo",
        lambda b: b["reading"] is not None and b["reading"]["weight_kg"] > 0,
        timeout_s=60,
    )
    assert body["where"].startswith("127.0.0.1:") and body["protocol"] == "ascii"
    assert body["reading"]["weight_kg"] % 12 == 0 or not body["reading"]["stable"]
    assert body["events"]["state"] in ("idle", "loading", "settled", "unloading")
    off = make_client(
        auto_start_cam=True, demo_video_seconds=6, demo_video_width=320, demo_scale=False
    )
    assert off.get("/api/scales/demo").status_code == 404
