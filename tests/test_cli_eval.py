from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
from PIL import Image as PILImage

from pigweight.cli import main


@pytest.fixture(autouse=True)
def _workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


def test_demo_video_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = tmp_path / "demo.mp4"
    args = ["demo-video", str(video), "--seconds", "2", "--seed", "4", "--width", "320"]
    assert main([*args, "--height", "180"]) == 0
    with av.open(str(video)) as container:
        assert container.streams.video[0].codec_context.width == 320
        assert sum(1 for _ in container.decode(video=0)) == 50
    truth = json.loads(video.with_suffix(".truth.json").read_text())
    assert truth["seed"] == 4
    capsys.readouterr()
    assert main(["eval", str(video), "--frames", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 5
    assert 0.0 <= result["exact_count_rate"] <= 1.0


def test_eval_photo_folder_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        PILImage.new("RGB", (96, 64), (40, 110, 60)).save(root / "images" / name)
    (root / "counts.csv").write_text("image,count\na.png,0\nb.png,2\n")
    assert main(["eval", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(r["image"], r["true"], r["predicted"]) for r in report["images"]] == [
        ("a.png", 0, 0),
        ("b.png", 2, 0),
    ]
    assert report["mae"] == 1.0 and report["exact"] == 0.5 and report["within1"] == 0.5
    assert main(["eval", str(root)]) == 0
    assert "MAE" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "images"),
        (lambda p: p.with_suffix(".mp4").write_bytes(b"x" * 10), "ground truth"),
    ],
)
def test_eval_refuses_what_it_cannot_measure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message: str
) -> None:
    target = tmp_path / "thing"
    make(target)
    if not target.exists():
        target = target.with_suffix(".mp4")
    assert main(["eval", str(target)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_demo_video_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-video", str(tmp_path / "x.avi")]) == 2
    assert main(["demo-video", str(tmp_path / "no" / "x.mp4")]) == 2
    assert main(["demo-video", str(tmp_path / "x.mp4"), "--seconds", "0"]) == 2
    assert "Traceback" not in capsys.readouterr().err
