"""Camera URLs never lead back into the server: loopback, link-local and metadata hosts."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from pigweight.camera_policy import (
    CameraHostRefused,
    CameraHostUnresolved,
    HostPolicy,
    url_host,
)
from pigweight.cameras import CameraConfigError, check_submitted_url, load_cameras
from pigweight.media.roots import PathRefused
from pigweight.media.source import SourceState
from pigweight.pipeline.sources import camera_source_factory
from pigweight.settings import Settings, SettingsError, load_settings
from pigweight.synthetic import write_demo_video

PASSWORD = "p@ss:w/rd"


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"_env_file": None, "data_dir": tmp_path / "data"}
    values.update(overrides)
    return Settings(**values)


def _cameras_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "cameras.yaml"
    path.write_text(f"cameras:\n  - {{id: pen1, url: '{url}'}}\n")
    return path


def _resolve_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    def fake(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.8.9.10",
        "127.1",  # the resolver's short forms of 127.0.0.1
        "2130706433",
        "0x7f000001",
        "0.0.0.0",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::]",
        "localhost",
        "LocalHost.",
        "cam.localhost",
        "169.254.1.20",
        "169.254.169.254",
        "[fe80::1]",
        "[fd00:ec2::254]",
        "metadata.google.internal",
    ],
)
def test_local_and_metadata_hosts_are_refused_naming_the_setting(tmp_path: Path, host: str) -> None:
    path = _cameras_file(tmp_path, f"rtsp://{host}:554/live")
    with pytest.raises(CameraConfigError) as refused:
        load_cameras(_settings(tmp_path, cameras_file=path))
    message = str(refused.value)
    assert "camera pen1" in message and "CAMERA_ALLOW_HOSTS=" in message


@pytest.mark.parametrize("host", ["192.0.2.10", "10.1.2.3", "[2001:db8::5]", "cam.farm.lan"])
def test_lan_cameras_and_names_pass_without_dns_at_start(tmp_path: Path, host: str) -> None:
    path = _cameras_file(tmp_path, f"rtsp://{host}/live")
    (camera,) = load_cameras(_settings(tmp_path, cameras_file=path))
    assert camera.kind == "rtsp"


def test_the_setting_allows_addresses_networks_and_names(tmp_path: Path) -> None:
    relay = _cameras_file(tmp_path, "rtsp://127.0.0.1:8554/cam")
    assert load_cameras(_settings(tmp_path, cameras_file=relay, camera_allow_hosts=["127.0.0.1"]))
    linked = _cameras_file(tmp_path, "rtsp://169.254.7.7/cam")
    assert load_cameras(
        _settings(tmp_path, cameras_file=linked, camera_allow_hosts="169.254.0.0/16")
    )
    named = _cameras_file(tmp_path, "rtsp://localhost:8554/cam")
    assert load_cameras(_settings(tmp_path, cameras_file=named, camera_allow_hosts="LOCALHOST"))


def test_a_metadata_address_needs_listing_itself() -> None:
    with pytest.raises(CameraHostRefused, match="metadata"):
        HostPolicy.from_entries(["169.254.0.0/16"]).check("169.254.169.254")
    HostPolicy.from_entries(["169.254.169.254"]).check("169.254.169.254")


def test_cam_url_is_checked_and_its_password_never_shown(tmp_path: Path) -> None:
    url = f"rtsp://admin:{PASSWORD}@127.0.0.1/ch1"
    with pytest.raises(CameraConfigError, match=r"^CAM_URL: .*CAMERA_ALLOW_HOSTS") as refused:
        load_cameras(_settings(tmp_path, cam_url=url))
    assert "p@ss" not in str(refused.value) and "w/rd" not in str(refused.value)
    assert url_host(url) == "127.0.0.1"


def test_a_name_is_checked_for_what_it_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolve_to(monkeypatch, "127.0.0.1")
    with pytest.raises(CameraHostRefused, match=r"resolves to 127\.0\.0\.1.*=cam\.example"):
        HostPolicy().check("cam.example")
    HostPolicy.from_entries(["cam.example"]).check("cam.example")
    _resolve_to(monkeypatch, "192.0.2.10")
    HostPolicy().check("cam.example")


def test_a_slow_resolver_is_given_up_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: Any, **kwargs: Any) -> list[Any]:
        time.sleep(2)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(CameraHostUnresolved, match="did not resolve within"):
        HostPolicy().check("cam.example", resolve_timeout_s=0.2)
    assert time.monotonic() - started < 1.5


def test_the_rtsp_source_refuses_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name that resolves to loopback: refused at each connection, never opened.
    _resolve_to(monkeypatch, "127.0.0.1")
    path = _cameras_file(tmp_path, "rtsp://cam.example:9/live")
    settings = _settings(tmp_path, cameras_file=path)
    (camera,) = load_cameras(settings)
    source = camera_source_factory(settings.cameras)(camera)
    source.start()
    try:
        deadline = time.monotonic() + 10
        while source.status.state != SourceState.ERROR and time.monotonic() < deadline:
            time.sleep(0.02)
        status = source.status
    finally:
        source.stop()
    assert status.state == SourceState.ERROR
    assert status.last_error and "CAMERA_ALLOW_HOSTS" in status.last_error


def test_urls_from_the_api_are_held_to_the_media_roots(tmp_path: Path) -> None:
    nvr = tmp_path / "nvr"
    nvr.mkdir()
    clip = write_demo_video(nvr / "cam1.mp4", seconds=1, width=160, height=90)
    (tmp_path / "outside.mp4").write_bytes(clip.read_bytes())
    (nvr / "notes.txt").write_text("not a video")
    settings = _settings(tmp_path, media_roots=[nvr])

    assert check_submitted_url("rtsp://192.0.2.10/live", settings) == "rtsp://192.0.2.10/live"
    assert check_submitted_url(str(clip), settings) == str(clip.resolve())
    assert check_submitted_url("cam1.mp4", settings) == str(clip.resolve())
    for hostile in (
        str(tmp_path / "outside.mp4"),
        "../outside.mp4",
        "..%2Foutside.mp4",
        "/etc/passwd",
        "C:\\exports\\cam1.mp4",
        "\\\\nvr\\share\\cam1.mp4",
        "cam1.mp4\x00.txt",
        "notes.txt",
    ):
        with pytest.raises((PathRefused, CameraConfigError)):
            check_submitted_url(hostile, settings)
    with pytest.raises(CameraHostRefused, match="CAMERA_ALLOW_HOSTS"):
        check_submitted_url("rtsp://localhost/live", settings)
    with pytest.raises(CameraConfigError, match="scheme 'http'"):
        check_submitted_url("http://192.0.2.10/", settings)
    with pytest.raises(CameraConfigError, match="password_env"):
        check_submitted_url("rtsp://admin:secret@192.0.2.10/", settings)


def test_the_setting_takes_only_addresses_networks_and_names() -> None:
    settings = load_settings(_env_file=None, camera_allow_hosts="127.0.0.1, fe80::/10,Relay.lan")
    assert settings.cameras.camera_allow_hosts == ["127.0.0.1", "fe80::/10", "relay.lan"]
    with pytest.raises(SettingsError, match="CAMERA_ALLOW_HOSTS"):
        load_settings(_env_file=None, camera_allow_hosts="rtsp://127.0.0.1/")
