from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image as PILImage

from pigweight.cli import main


def write_video(path: Path, seconds: float = 2.0, fps: int = 10, size: tuple[int, int] = (160, 96)):
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(round(seconds * fps)):
            img = np.full((h, w, 3), (60, 90, 60), np.uint8)
            img[:, : (i * 7) % w] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(autouse=True)
def _workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


def test_count_photo_json_and_overlay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "pen.jpg"
    PILImage.new("RGB", (320, 200), (40, 110, 60)).save(photo)
    assert main(["count", str(photo), "--json", "--overlay-dir", str(tmp_path / "ov")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"path": str(photo), "count": 0, "confidence": 1.0}]
    with PILImage.open(tmp_path / "ov" / "pen.jpg") as overlay:
        assert overlay.size == (320, 200)


def test_count_video_samples_every_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = write_video(tmp_path / "clip.mp4", seconds=2.0)
    assert main(["count", str(video), "--every", "0.5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["t"] for r in rows] == [0.0, 0.5, 1.0, 1.5]
    assert all(r["path"] == str(video) and isinstance(r["count"], int) for r in rows)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.jpg", b"weights: 412 kg\n", "not an image"),
        ("empty.jpg", b"", "empty"),
        ("cut.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00", "damaged or truncated"),
        ("fake.mp4", b"\x00" * 1000, "not a video"),
        ("empty.mp4", b"", "empty"),
        # A playlist named like a video: refused, never followed to the files it lists.
        ("list.mp4", b"#EXTM3U\n#EXTINF:10,\n/etc/passwd\n", "playlist"),
    ],
)
def test_bad_inputs_give_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["count", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("pigweight: error:")
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_good_files_are_counted_even_when_one_is_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.png"
    PILImage.new("RGB", (64, 64), (40, 110, 60)).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    assert main(["count", str(bad), str(good), "--json"]) == 2
    captured = capsys.readouterr()
    assert [r["path"] for r in json.loads(captured.out)] == [str(good)]
    assert "bad.jpg" in captured.err


def test_missing_model_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "p.png"
    PILImage.new("RGB", (64, 64)).save(photo)
    assert main(["count", str(photo), "--model", str(tmp_path / "missing.onnx")]) == 2
    err = capsys.readouterr().err
    assert "missing.onnx" in err and "Traceback" not in err


def test_onnx_file_that_is_not_yolo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "p.png"
    PILImage.new("RGB", (64, 64)).save(photo)
    model = tmp_path / "model.onnx"
    model.write_bytes(b"definitely not protobuf")
    assert main(["count", str(photo), "--model", str(model)]) == 2
    assert "model.onnx" in capsys.readouterr().err
