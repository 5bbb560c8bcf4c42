from __future__ import annotations

import json
from pathlib import Path

import pytest

from pigweight.cli import main
from pigweight.redact import redact_url
from pigweight.settings import (
    FIELD_GROUP,
    Settings,
    SettingsError,
    flat_fields,
    load_settings,
)

PASSWORD = "p@ss:w/rd%21"
CAM_URL = "rtsp://admin:p%40ss%3Aw%2Frd%2521@192.0.2.10:554/Streaming/Channels/101"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings read .env from the working directory: run in an empty one.
    monkeypatch.chdir(tmp_path)
    for name in FIELD_GROUP:
        monkeypatch.delenv(name.upper(), raising=False)


def test_every_setting_has_a_description_and_a_default() -> None:
    for name, field in [*Settings.model_fields.items(), *flat_fields().items()]:
        assert field.description, f"{name} has no description"
        assert not field.is_required(), f"{name} has no default"


def test_every_setting_is_documented() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    missing = [n.upper() for n in FIELD_GROUP if f"`{n.upper()}`" not in text]
    assert not missing, f"docs/settings.md does not describe {missing}"


def test_legacy_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PATH", "/models/pig.onnx")
    monkeypatch.setenv("CONF_THRESHOLD", "0.4")
    monkeypatch.setenv("FPS", "12.5")
    monkeypatch.setenv("TARGET_FPS", "3")
    monkeypatch.setenv("FRAME_SKIP", "2")
    monkeypatch.setenv("AUTO_START_CAM", "false")
    monkeypatch.setenv("PRELOAD_MODEL", "0")
    monkeypatch.setenv("CAM_URL", CAM_URL)
    monkeypatch.setenv("TARGET_CLASS_IDS", "0,2")
    s = load_settings()
    assert s.vision.model_path == Path("/models/pig.onnx")
    assert s.vision.conf_threshold == 0.4
    assert (s.cameras.fps, s.cameras.target_fps, s.cameras.frame_skip) == (12.5, 3.0, 2)
    assert s.cameras.auto_start_cam is False and s.vision.preload_model is False
    assert s.vision.target_class_ids == [0, 2]
    assert s.cameras.cam_url is not None
    assert s.cameras.cam_url.get_secret_value() == CAM_URL


def test_dotenv_is_read_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CONF_THRESHOLD=0.6\n")
    assert load_settings().vision.conf_threshold == 0.6
    (tmp_path / ".env").write_text("CONF_TRESHOLD=0.6\n")
    with pytest.raises(SettingsError, match="CONF_TRESHOLD: unknown setting"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CONF_THRESHOLD", "high", "CONF_THRESHOLD"),
        ("CONF_THRESHOLD", "1.5", "CONF_THRESHOLD"),
        ("FPS", "-1", "FPS"),
        ("TARGET_CLASS_IDS", "pig", "TARGET_CLASS_IDS"),
        ("IMGSZ", "500", "IMGSZ: .*multiple of 32"),
        ("SEGMENTER", "magic", "SEGMENTER"),
        ("PORT", "99999", "PORT"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=expected):
        load_settings()


def test_yolo_without_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTER", "yolo_onnx")
    with pytest.raises(SettingsError, match="MODEL_PATH"):
        load_settings()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (CAM_URL, "rtsp://admin:***@192.0.2.10:554/Streaming/Channels/101"),
        (f"rtsp://admin:{PASSWORD}@cam.local/ch1", "rtsp://admin:***@cam.local/ch1"),
        ("rtsp://cam.local/ch1", "rtsp://cam.local/ch1"),
        ("rtsp://user@cam.local/ch1", "rtsp://user@cam.local/ch1"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    redacted = redact_url(url)
    assert redacted == expected
    assert "p@ss" not in redacted and "p%40ss" not in redacted and "w/rd" not in redacted


def test_settings_command_redacts_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAM_URL", CAM_URL)
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "SEGMENTER=pig" in out
    assert "CAM_URL=rtsp://admin:***@192.0.2.10:554" in out
    for leaked in ("p@ss", "p%40ss", "w%2Frd", "%2521", "rd%21"):
        assert leaked not in out
    assert main(["settings", "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert values["cam_url"].startswith("rtsp://admin:***@")


def test_settings_command_reports_bad_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRAME_SKIP", "many")
    assert main(["settings"]) == 2
    err = capsys.readouterr().err
    assert "FRAME_SKIP" in err and "Traceback" not in err


def test_redact_url_leaves_at_signs_in_paths_alone() -> None:
    assert redact_url("rtsp://cam.local/live@main") == "rtsp://cam.local/live@main"
