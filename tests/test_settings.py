from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pigweight.cli import main
from pigweight.redact import redact_url
from pigweight.settings import (
    FIELD_GROUP,
    GROUPS,
    CameraSettings,
    Settings,
    SettingsError,
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
    every = [(n, f) for group in GROUPS.values() for n, f in group.model_fields.items()]
    for name, field in [*Settings.model_fields.items(), *every]:
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


# --- the groups ------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def _documented() -> dict[str, str]:
    """Every variable in docs/settings.md's tables -> the group its section names."""
    found: dict[str, str] = {}
    group = ""
    for line in DOCS.read_text().splitlines():
        heading = re.match(r"### `([a-z]+)`", line)
        if heading:
            group = heading.group(1)
        row = re.match(r"\| `([A-Z0-9_]+)` \|", line)
        if row:
            assert row.group(1) not in found, f"{row.group(1)} is documented twice"
            found[row.group(1)] = group
    return found


# A valid value of every variable as the environment gives it, and what it becomes; each
# differs from the default, so a value that did not land shows.
SAMPLES: dict[str, tuple[str, Any]] = {
    "HOST": ("0.0.0.0", "0.0.0.0"),
    "PORT": ("8081", 8081),
    "DATA_DIR": ("/srv/pw/data", Path("/srv/pw/data")),
    "DATABASE_URL": (
        "postgresql+psycopg://pw:secret@db.farm.lan/pw",
        "postgresql+psycopg://pw:secret@db.farm.lan/pw",
    ),
    "LOG_DIR": ("/srv/pw/logs", Path("/srv/pw/logs")),
    "ACCESS_LOG": ("yes", True),
    "UI_LANGUAGE": ("en", "en"),
    "PERF_STATS_INTERVAL_S": ("30", 30.0),
    "MAX_IMAGE_MEGAPIXELS": ("24.5", 24.5),
    "MAX_UPLOAD_MB": ("20", 20.0),
    "MAX_JSON_BODY_BYTES": ("65536", 65536),
    "SEGMENTER": ("classic", "classic"),
    "MODEL_PATH": ("/models/farm.onnx", Path("/models/farm.onnx")),
    "CONF_THRESHOLD": ("0.35", 0.35),
    "IOU_THRESHOLD": ("0.6", 0.6),
    "TARGET_CLASS_IDS": ("0, 2", [0, 2]),
    "IMGSZ": ("640", 640),
    "ONNX_THREADS": ("2", 2),
    "ONNX_USE_GPU": ("off", False),
    "MAX_DETECTIONS": ("50", 50),
    "CLASSIC_WORK_PX": ("960", 960),
    "PRELOAD_MODEL": ("0", False),
    "CAM_URL": (CAM_URL, CAM_URL),
    "FPS": ("12.5", 12.5),
    "TARGET_FPS": ("3", 3.0),
    "FRAME_SKIP": ("2", 2),
    "AUTO_START_CAM": ("false", False),
    "COUNT_WINDOW": ("9", 9),
    "CAMERAS_FILE": ("/etc/pw/cameras.yaml", Path("/etc/pw/cameras.yaml")),
    "DEMO_VIDEO_SECONDS": ("0", 0.0),
    "DEMO_VIDEO_WIDTH": ("640", 640),
    "COUNT_RETENTION_DAYS": ("7.5", 7.5),
    "CAMERA_ALLOW_HOSTS": ("127.0.0.1, Relay.LAN", ["127.0.0.1", "relay.lan"]),
    "WEBRTC_ENABLED": ("no", False),
    "WEBRTC_MAX_PEERS": ("5", 5),
    "WEBRTC_ICE_SERVERS": (
        "stun:stun.example.org:3478,turn:turn.example.org:3478",
        ["stun:stun.example.org:3478", "turn:turn.example.org:3478"],
    ),
    "WEBRTC_TURN_USERNAME": ("farm", "farm"),
    "WEBRTC_TURN_PASSWORD": ("s3cret", "s3cret"),
    "WEBRTC_HOSTS": ("192.168.1.10", ["192.168.1.10"]),
    "RECORDS_DIR": ("/srv/pw/records", Path("/srv/pw/records")),
    "FARM_TIMEZONE": ("Europe/Moscow", "Europe/Moscow"),
    "MAX_TOTAL_WEIGHT_KG": ("2500", 2500.0),
    "MIN_AVG_WEIGHT_KG": ("1.5", 1.5),
    "MAX_AVG_WEIGHT_KG": ("150", 150.0),
    "RECORDS_RETENTION_DAYS": ("30", 30),
    "SCALE_URL": ("tcp://192.168.1.50:4001?protocol=toledo",) * 2,
    "DEMO_SCALE": ("false", False),
    "AUTO_WEIGH": ("off", False),
    "AUTO_WEIGH_SETTLE_S": ("5", 5.0),
    "AUTO_WEIGH_MIN_CONFIDENCE": ("0.9", 0.9),
    "MEDIA_ROOTS": ("/mnt/nvr,/mnt/usb", [Path("/mnt/nvr"), Path("/mnt/usb")]),
    "INDEX_INTERVAL_S": ("2", 2.0),
    "INDEX_MAX_SIDE_PX": ("960", 960),
    "INDEX_WORKERS": ("queue", "queue"),
    "INDEX_SHARED_ROOT": ("/mnt/nvr", Path("/mnt/nvr")),
    "INDEX_SOURCE_URL": ("http://nvr.farm.lan:8000/", "http://nvr.farm.lan:8000"),
    "MAX_VIDEO_UPLOAD_GB": ("10", 10.0),
    "HLS_CACHE_MB": ("512", 512.0),
    "LABEL_QUEUE_MB": ("100", 100.0),
    "LABEL_SAMPLE_SHARE": ("0.1", 0.1),
    "LABEL_LOW_CONFIDENCE": ("0.5", 0.5),
    "TRAIN_THREADS": ("2", 2),
    "SITE_ID": ("barn-1", "barn-1"),
    "CENTRAL": ("yes", True),
    "CENTRAL_SITES": ("barn1, barn_2", ["barn1", "barn_2"]),
    "NATS_URL": ("tls://hub.farm.lan:4222", "tls://hub.farm.lan:4222"),
    "NATS_USER": ("barn1", "barn1"),
    "NATS_MONITOR_URL": ("http://127.0.0.1:8223", "http://127.0.0.1:8223"),
    "NATS_PASSWORD": ("n4ts-s3cret", "n4ts-s3cret"),
    "NATS_TLS_CA": ("/etc/pw/ca.pem", Path("/etc/pw/ca.pem")),
    "NATS_TLS_CERT": ("/etc/pw/site.pem", Path("/etc/pw/site.pem")),
    "NATS_TLS_KEY": ("/etc/pw/site.key", Path("/etc/pw/site.key")),
}


def _value(settings: Settings, name: str) -> Any:
    """The parsed value of a variable, read from its group (a secret as its text)."""
    value = getattr(getattr(settings, FIELD_GROUP[name.lower()]), name.lower())
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_every_documented_variable_has_a_sample_and_a_field() -> None:
    assert set(_documented()) == set(SAMPLES) == {n.upper() for n in FIELD_GROUP}
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name, (_raw, expected) in SAMPLES.items():
        assert _value(defaults, name) != expected, f"{name}: the sample is the default"


@pytest.mark.parametrize("name", sorted(_documented()))
def test_every_documented_variable_works_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    raw, expected = SAMPLES[name]
    monkeypatch.setenv(name, raw)
    assert _value(load_settings(), name) == expected


def test_every_documented_variable_works_from_dotenv(tmp_path: Path) -> None:
    lines = [f"{name}={raw}" for name, (raw, _expected) in SAMPLES.items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    settings = load_settings()
    for name, (_raw, expected) in SAMPLES.items():
        assert _value(settings, name) == expected, name


def test_each_variable_is_in_the_group_the_docs_name() -> None:
    documented = _documented()
    assert set(documented.values()) == set(GROUPS)
    wrong = {n: g for n, g in documented.items() if FIELD_GROUP[n.lower()] != g}
    assert not wrong, f"docs/settings.md puts these in another group: {wrong}"


def test_names_are_unique_across_groups() -> None:
    per_group = [name for model in GROUPS.values() for name in model.model_fields]
    assert len(per_group) == len(set(per_group)) == len(FIELD_GROUP)
    assert not set(GROUPS) & set(FIELD_GROUP)


def test_environment_wins_over_dotenv_and_keywords_over_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("fps=10\nTARGET_FPS=2\nCOUNT_WINDOW=7\n")
    monkeypatch.setenv("FPS", "12")
    monkeypatch.setenv("TARGET_FPS", "4")
    settings = load_settings(target_fps=6)
    assert (settings.cameras.fps, settings.cameras.target_fps) == (12.0, 6.0)
    assert settings.cameras.count_window == 7  # the rest of the group still from .env
    assert load_settings(_env_file=None).cameras.count_window == 15


def test_a_group_given_in_code_wins_over_its_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FPS", "12")
    monkeypatch.setenv("HOST", "0.0.0.0")
    settings = Settings(cameras=CameraSettings(fps=7), target_fps=2)
    assert (settings.cameras.fps, settings.cameras.target_fps) == (7.0, 2.0)
    assert settings.server.host == "0.0.0.0"  # other groups still read the environment
    assert Settings.model_validate({"fps": 3}).cameras.fps == 3.0


@pytest.mark.parametrize("line", ["VISION=classic", "CAMERAS={}", "SERVER__HOST=x"])
def test_a_group_name_in_dotenv_is_an_unknown_setting(tmp_path: Path, line: str) -> None:
    (tmp_path / ".env").write_text(line + "\n")
    key = line.split("=")[0]
    with pytest.raises(SettingsError, match=f"{key}: unknown setting"):
        load_settings()


def test_checks_across_a_groups_fields_name_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIN_AVG_WEIGHT_KG", "300")
    with pytest.raises(SettingsError, match="MIN_AVG_WEIGHT_KG must be below MAX_AVG_WEIGHT_KG"):
        load_settings()
    with pytest.raises(SettingsError, match=r"invalid settings: MAX_AVG_WEIGHT_KG: .*greater"):
        load_settings(max_avg_weight_kg=-1, min_avg_weight_kg=0.1)


def test_public_dict_names_every_variable_flat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBRTC_TURN_PASSWORD", "s3cret")
    values = load_settings().public_dict()
    assert list(values) == list(FIELD_GROUP)
    assert values["webrtc_turn_password"] == "***"
    assert values["data_dir"] == "data" and values["media_roots"] == []
