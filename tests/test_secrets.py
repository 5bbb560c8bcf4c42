"""A planted camera password (`p@ss:w/rd%21`) shows up nowhere: answers, pages, logs, files.

The cameras get it the ways an operator gives it (password_env in the cameras file, inline
in CAM_URL) and fail the ways cameras fail (401 from a real RTSP server, a refused port, a
library error that quotes the URL), with every logger at DEBUG and FFmpeg's log on. Then
every GET route, the error answers, the settings dump and every file the app wrote are read.
tests/conftest.py repeats the file and log scan over the whole run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import av.logging
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from pigweight.app import create_app
from pigweight.cameras import CameraConfig, CameraConfigError, load_cameras, parse_cameras
from pigweight.cli import main
from pigweight.errors import InvalidVideo
from pigweight.media.rtsp import validate_rtsp_url
from pigweight.media.source import FrameSource, open_source
from pigweight.pipeline.sources import open_camera_source
from pigweight.settings import Settings
from pigweight.synthetic import write_demo_video
from pigweight.weighing.scale_url import parse_scale_url
from tests.api.conftest import make_settings
from tests.conftest import REQUIRE_SYSTEM
from tests.media.test_rtsp import RtspServers, free_port, gst_rtsp_available
from tests.planted_secret import (
    PLANTED_ENV,
    PLANTED_PASSWORD,
    PLANTED_USER,
    find_planted,
    scan_files,
)

CLOSED_PORT = 9  # discard: nothing listens on loopback, the connection is refused
INLINE_URL = f"rtsp://{PLANTED_USER}:{PLANTED_PASSWORD}@127.0.0.1:{{port}}/cam"
# The test client logs each request line: what the test sent, not what the app wrote.
_TEST_CLIENT_LOGS = ("httpx", "httpx2")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(f"{record.name}: {logging.Formatter().format(record)}")


@pytest.fixture
def every_log() -> Iterator[_Records]:
    """Every record of every logger at DEBUG, FFmpeg's own (`libav`) included."""
    records = _Records()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "libav", *_TEST_CLIENT_LOGS)}
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    logging.getLogger("libav").setLevel(logging.DEBUG)
    for name in _TEST_CLIENT_LOGS:
        logging.getLogger(name).setLevel(logging.WARNING)
    av.logging.set_level(av.logging.DEBUG)
    try:
        yield records
    finally:
        av.logging.set_level(None)
        root.removeHandler(records)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A real RTSP server that answers 401 to the planted password (it wants another)."""
    if not gst_rtsp_available():
        if REQUIRE_SYSTEM:
            pytest.fail("GStreamer RTSP server missing (PIGWEIGHT_REQUIRE_SYSTEM=1)")
        yield CLOSED_PORT  # a laptop without it still checks the refused connection
        return
    servers = RtspServers()
    port = free_port()
    try:
        servers.start(port, user=PLANTED_USER, password="another-one")
        yield port
    finally:
        servers.close()


def _leaky_factory(config: CameraConfig) -> FrameSource:
    """Cameras named leak-* fail the way libraries do: quoting the URL they were given."""
    if config.id == "leak-domain":
        raise InvalidVideo(f"could not open {config.open_url()}: 401 Unauthorized")
    if config.id == "leak-crash":
        raise RuntimeError(f"av.open({config.open_url()!r}) crashed")
    return open_camera_source(config)


def _cameras_file(tmp_path: Path, clip: Path, port: int) -> Path:
    path = tmp_path / "cameras.yaml"  # holds no password: only the variable's name
    rtsp = [("gate", port), ("nowhere", CLOSED_PORT), ("leak-domain", 9), ("leak-crash", 9)]
    lines = ["cameras:", f"  - {{id: pen1, url: '{clip}', target_fps: 5}}"]
    for cid, cam_port in rtsp:
        lines += [
            f"  - id: {cid}",
            f"    url: rtsp://{PLANTED_USER}@127.0.0.1:{cam_port}/cam",
            f"    password_env: {PLANTED_ENV}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait(client: TestClient, ok: Callable[[dict[str, Any]], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    cameras: dict[str, Any] = {}
    while time.monotonic() < deadline:
        cameras = {c["id"]: c["status"] for c in client.get("/api/cameras").json()}
        if ok(cameras):
            return
        time.sleep(0.2)
    raise AssertionError(f"the cameras never got there: {cameras}")


def _failed_as_expected(cameras: dict[str, Any]) -> bool:
    failing = ("gate", "cam", "nowhere", "leak-domain", "leak-crash")
    return all(cameras[c]["last_error"] for c in failing) and cameras["pen1"]["frames_out"] > 0


def _read_everything(client: TestClient) -> list[str]:
    """Every GET route without a path parameter, each camera's routes, and bad requests."""
    texts: list[str] = []
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        if "get" in operations and "{" not in path:
            texts.append(f"GET {path}: {client.get(path).text}")
    for path in ("/", "/healthz", "/metrics", "/api/cameras", "/api/config"):
        texts.append(f"GET {path}: {client.get(path).text}")
    for cid in ("pen1", "gate", "cam", "nowhere", "leak-domain", "leak-crash"):
        for path in (
            f"/api/cameras/{cid}/status",
            f"/api/cameras/{cid}/snapshot.jpg",  # 503 quotes last_error
            f"/api/scales/{cid}",
            f"/api/count_series?id={cid}",
        ):
            answer = client.get(path)
            if answer.headers.get("content-type", "").startswith(("application/json", "text")):
                texts.append(f"GET {path}: {answer.text}")
    with client.websocket_connect("/ws/count?id=gate") as ws:
        texts.append(f"WS gate: {ws.receive_json()}")
    texts.append(f"WS unknown: {_ws_refusal(client, INLINE_URL.format(port=CLOSED_PORT))}")
    texts.append(f"POST start: {client.post('/api/cameras/gate/start').text}")
    # Requests that carry the password: a 4xx must not echo it (FastAPI's own 422 would).
    inline = INLINE_URL.format(port=CLOSED_PORT)
    bad_requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/video_file/register", {"json": {"path": inline}}),
        ("POST", "/api/weight/average", {"json": {"camera": inline, "total_weight_kg": inline}}),
        ("POST", "/api/weight/average", {"content": f'{{"camera": "{inline}"'}),
        ("GET", "/api/count_series", {"params": {"id": "gate", "window_s": inline}}),
        ("GET", "/api/count_series", {"params": {"id": inline}}),
        ("POST", "/api/webrtc/gate/offer", {"json": {"sdp": inline, "type": inline}}),
    ]
    for method, path, kwargs in bad_requests:
        answer = client.request(method, path, **kwargs)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        texts.append(f"{method} {path}: {answer.status_code} {answer.text}")
    return texts


def _ws_refusal(client: TestClient, camera_id: str) -> str:
    """The close code and reason of /ws/count for a camera that does not exist."""
    url = f"/ws/count?id={quote(camera_id, safe='')}"
    with client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 4404
    return f"{closed.value.code} {closed.value.reason}"


def test_the_app_never_shows_the_planted_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    every_log: _Records,
    refusing_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(PLANTED_ENV, PLANTED_PASSWORD)
    clip = write_demo_video(tmp_path / "clip.mp4", seconds=2, width=320, height=180)
    settings = make_settings(
        tmp_path,
        cameras_file=_cameras_file(tmp_path, clip, refusing_port),
        cam_url=INLINE_URL.format(port=refusing_port),  # the legacy .env way
        webrtc_ice_servers=["turn:127.0.0.1:3478"],
        webrtc_turn_username=PLANTED_USER,
        webrtc_turn_password=PLANTED_PASSWORD,
        auto_start_cam=True,
        perf_stats_interval_s=0.2,  # perf.log gets its per-camera lines while we wait
    )
    with TestClient(create_app(settings, source_factory=_leaky_factory)) as client:
        _wait(client, _failed_as_expected, timeout_s=60)
        perf_log = tmp_path / "logs" / "perf.log"
        _wait(client, lambda _: "stats camera=gate" in perf_log.read_text(), timeout_s=10)
        texts = _read_everything(client)
        errors = {c["id"]: c["status"]["last_error"] for c in client.get("/api/cameras").json()}
    texts += every_log.texts
    # The failures were real and say what to fix.
    if refusing_port != CLOSED_PORT:
        assert "401" in errors["gate"] and "401" in errors["cam"], errors
    assert "refused" in errors["nowhere"], errors
    assert any(t.startswith("libav") for t in every_log.texts)
    assert any(f"{PLANTED_USER}:***@" in t for t in texts)

    leaks = [(forms, text[:400]) for text in texts if (forms := find_planted(text))]
    assert not leaks, leaks
    written = [p for d in ("data", "logs", "records") for p in (tmp_path / d).rglob("*")]
    assert perf_log in written
    files = [p for p in written if p.is_file()]
    assert not list(scan_files(files))
    printed = capsys.readouterr()
    assert not find_planted(printed.out + printed.err)


def test_the_settings_dump_redacts_every_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the working tree
    monkeypatch.setenv("CAM_URL", INLINE_URL.format(port=554))
    monkeypatch.setenv("WEBRTC_TURN_PASSWORD", PLANTED_PASSWORD)
    monkeypatch.setenv("SCALE_URL", f"tcp://{PLANTED_USER}:{PLANTED_PASSWORD}@127.0.0.1:4001")
    assert main(["settings"]) == 0
    assert main(["settings", "--json"]) == 0
    out = capsys.readouterr().out
    assert "CAM_URL=rtsp://admin:***@127.0.0.1:554/cam" in out
    assert "WEBRTC_TURN_PASSWORD=***" in out
    values = json.loads(out.splitlines()[-1])
    assert values["webrtc_turn_password"] == "***"
    assert values["scale_url"] == "tcp://admin:***@127.0.0.1:4001"
    assert not find_planted(out), out


def _config_errors(tmp_path: Path) -> Iterator[str]:
    """The message of every refusal of a configuration that holds the password."""
    inline = INLINE_URL.format(port=554)
    scale = f"tcp://{PLANTED_USER}:{PLANTED_PASSWORD}@127.0.0.1:4001?protocol=ascii"
    serial = f"serial://{PLANTED_USER}:{PLANTED_PASSWORD}@ttyUSB0?protocol=ascii"

    def settings(**overrides: Any) -> Settings:
        return make_settings(tmp_path, **overrides)  # loopback cameras allowed

    refusals: list[Callable[[], object]] = [
        lambda: parse_cameras(f"cameras:\n  - {{id: a, url: '{inline}'}}\n"),
        lambda: parse_cameras(f"cameras:\n  - {{id: a, url: 'x', scale: '{scale}'}}\n"),
        lambda: parse_cameras(f"cameras:\n  - {{id: a, url: {inline}\n"),  # broken YAML
        lambda: parse_cameras(f"cameras:\n  - {{id: 'Bad id', url: '{inline}'}}\n"),
        lambda: parse_scale_url(scale),
        lambda: parse_scale_url(serial),
        lambda: validate_rtsp_url(inline + " x"),
        lambda: open_source(inline.replace("rtsp", "http"), "x"),
        lambda: load_cameras(settings(cam_url=inline.replace("rtsp", "http"))),
        lambda: load_cameras(settings(cam_url=inline, scale_url=scale)),
        lambda: load_cameras(settings(scale_url=serial)),
    ]
    for refuse in refusals:
        with pytest.raises((ValueError, CameraConfigError)) as refused:
            refuse()
        yield str(refused.value)


def test_refused_configurations_do_not_quote_the_password(tmp_path: Path) -> None:
    messages = list(_config_errors(tmp_path))
    assert len(messages) == 11
    leaks = [m for m in messages if find_planted(m)]
    assert not leaks, leaks
