from __future__ import annotations

from pathlib import Path

import pytest

from pigweight.cameras import CameraConfigError, load_cameras, parse_cameras
from pigweight.settings import Settings

PASSWORD = "p@ss:w/rd%21"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"_env_file": None, "data_dir": tmp_path / "data"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_a_full_entry_is_read_with_its_overrides() -> None:
    (camera,) = parse_cameras(
        """
cameras:
  - id: scale1
    name: Весы 1
    url: rtsp://admin@192.0.2.10:554/Streaming/Channels/101
    password_env: SCALE1_PASSWORD
    enabled: false
    target_fps: 3
    frame_skip: 2
    conf_threshold: 0.4
    segmenter: classic
"""
    )
    assert (camera.id, camera.display_name, camera.kind) == ("scale1", "Весы 1", "rtsp")
    assert (camera.enabled, camera.target_fps, camera.frame_skip) == (False, 3, 2)
    assert camera.conf_threshold == 0.4
    url = camera.open_url({"SCALE1_PASSWORD": PASSWORD})
    assert url == "rtsp://admin:p%40ss%3Aw%2Frd%2521@192.0.2.10:554/Streaming/Channels/101"
    assert camera.public_url == "rtsp://admin@192.0.2.10:554/Streaming/Channels/101"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("url: http://192.0.2.10/video", "scheme 'http' is not allowed"),
        ("url: -i /etc/passwd", "must not start with '-'"),
        ("url: rtsp://192.0.2.10/live?x=-y", "must not start with '-'"),
        ("url: rtsp://admin:secret@192.0.2.10/live", "password_env"),
        ("url: rtsp://192.0.2.10/\n    fsp: 5", "fsp: unknown key"),
        ("url: rtsp://192.0.2.10/\n    target_fps: 0", "target_fps"),
        ("url: rtsp:///nohost", "no host"),
    ],
)
def test_bad_entries_name_the_camera_and_the_fix(entry: str, message: str) -> None:
    with pytest.raises(CameraConfigError, match="camera pen1") as info:
        parse_cameras(f"cameras:\n  - id: pen1\n    {entry}\n")
    assert message in str(info.value)
    assert "secret" not in str(info.value)


def test_bad_ids_and_duplicates_are_refused() -> None:
    with pytest.raises(CameraConfigError, match="id"):
        parse_cameras("cameras:\n  - id: 'Pen 1'\n    url: rtsp://h/\n")
    with pytest.raises(CameraConfigError, match="unique"):
        parse_cameras("cameras:\n  - {id: a, url: 'rtsp://h/'}\n  - {id: a, url: 'rtsp://g/'}\n")
    with pytest.raises(CameraConfigError, match="one key 'cameras'"):
        parse_cameras("camera:\n  - {id: a, url: 'rtsp://h/'}\n")


def test_nothing_configured_gives_the_demo_camera(tmp_path: Path) -> None:
    (camera,) = load_cameras(_settings(tmp_path))
    assert (camera.id, camera.kind) == ("demo", "demo")
    assert camera.url.endswith(".mp4") and str(tmp_path / "data") in camera.url
    assert load_cameras(_settings(tmp_path, demo_video_seconds=0)) == []


def test_legacy_cam_url_keeps_working_and_is_redacted(tmp_path: Path) -> None:
    url = f"rtsp://admin:{PASSWORD}@192.0.2.10/ch1"
    (camera,) = load_cameras(_settings(tmp_path, cam_url=url))
    assert camera.id == "cam" and camera.open_url() == url
    assert camera.public_url == "rtsp://admin:***@192.0.2.10/ch1"
    assert PASSWORD not in camera.scrub(f"could not open {url}: 401")
    with pytest.raises(CameraConfigError, match="CAM_URL"):
        load_cameras(_settings(tmp_path, cam_url="http://192.0.2.10/ch1"))


def test_cameras_file_errors_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(CameraConfigError, match="cannot be read"):
        load_cameras(_settings(tmp_path, cameras_file=tmp_path / "missing.yaml"))
    bad = tmp_path / "cams.yaml"
    bad.write_text("cameras: [\n")
    with pytest.raises(CameraConfigError, match="not valid YAML"):
        load_cameras(_settings(tmp_path, cameras_file=bad))


def test_file_urls_are_relative_to_the_cameras_file(tmp_path: Path) -> None:
    path = tmp_path / "cams.yaml"
    path.write_text("cameras:\n  - {id: replay, url: clips/a.mp4}\n")
    (camera,) = load_cameras(_settings(tmp_path, cameras_file=path))
    assert camera.kind == "file" and camera.url == str(tmp_path / "clips" / "a.mp4")


def test_a_cameras_model_is_read_relative_to_the_file(tmp_path: Path) -> None:
    from pigweight.cameras import parse_cameras
    from pigweight.pipeline.camera_worker import with_conf
    from pigweight.settings import load_settings

    text = (
        "cameras:\n  - id: scale1\n    url: rtsp://192.0.2.10/live\n    model: models/scale1.onnx\n"
    )
    (camera,) = parse_cameras(text, base_dir=tmp_path)
    assert camera.model == tmp_path / "models" / "scale1.onnx"
    vision = with_conf(load_settings(segmenter="classic", preload_model=False).vision, camera)
    assert vision.model_path == tmp_path / "models" / "scale1.onnx"
    assert vision.segmenter == "pig"  # a camera's own pig model counts with the pig detector
